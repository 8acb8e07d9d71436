// The sysfs tree as plain data, kernfs/lxcfs style: directories list their children when asked and files render
// their value from live state when read. The FUSE adapter (fs/fuse-mount.ts) and the HTTP mirror are two thin
// readers of the same tree, so every rule about what may be read or written lives here, once.

/** The errors a node can answer with; the FUSE adapter maps them to errno, the HTTP mirror to a status. */
export type FsErrorKind = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'EACCES' | 'EPERM' | 'EINVAL' | 'EBUSY' | 'EIO';

export interface FsError {
  readonly error: FsErrorKind;
  /** Why, in words, for logs and the HTTP mirror; FUSE can only carry the errno. */
  readonly reason?: string;
}

/** Permission bits as sysfs shows them (the type bits are added by readers). */
export type FileMode = 0o444 | 0o644 | 0o200;
export const DIR_MODE = 0o555;

export interface FileNode {
  readonly type: 'file';
  readonly mode: FileMode;
  /**
   * Renders the whole value from live state at read time; sysfs style, one value ending in a newline. Keep it within
   * 4096 bytes, as sysfs does: stat reports a page, and readers that trust st_size (Node's readFile) stop there.
   */
  readonly show?: () => string;
  /** Applies one write() of text (as written, newline included); returns nothing on success. */
  readonly store?: (text: string) => FsError | void;
  /** The value's bytes, rendered once, when it can never change (see constant()). Shared: never modify them. */
  readonly fixed?: Buffer;
}

export interface DirNode {
  readonly type: 'dir';
  /** Names of the children now; may change between calls. */
  readonly list: () => Iterable<string>;
  /** The child called name now, or undefined when there is none. */
  readonly lookup: (name: string) => Node | undefined;
}

export type Node = FileNode | DirNode;

// ---- Declarative builders, so a subtree reads like its ABI document.

/** A read-only (0444) file whose content is exactly what show returns. */
export function file(show: () => string): FileNode {
  return { type: 'file', mode: 0o444, show };
}

/**
 * A read-only (0444) file whose content is fixed for the life of the tree, such as the hypervisor's identity. It is
 * rendered once, and readers may report its exact length, which they must never do for a value that can change.
 */
export function constant(text: string): FileNode {
  return { type: 'file', mode: 0o444, show: () => text, fixed: Buffer.from(text, 'utf8') };
}

/** A read-only (0444) file holding one value, printed sysfs style (`String(value)` then a newline). */
export function value(get: () => string | number | bigint): FileNode {
  return file(() => `${get()}\n`);
}

/** A read-write (0644) control file; store validates and applies each write. */
export function rwFile(show: () => string, store: (text: string) => FsError | void): FileNode {
  return { type: 'file', mode: 0o644, show, store };
}

/** A write-only (0200) control file. */
export function woFile(store: (text: string) => FsError | void): FileNode {
  return { type: 'file', mode: 0o200, store };
}

/** A directory with a fixed set of children, listed in the order given. */
export function dir(children: Record<string, Node>): DirNode {
  const byName = new Map(Object.entries(children));
  const names = [...byName.keys()];
  return { type: 'dir', list: () => names, lookup: (name) => byName.get(name) };
}

/**
 * A directory whose children come and go with live state (VMs, queues...). child(name) must return undefined for
 * any name list() would not produce now (including non-canonical spellings such as "03" for "3").
 */
export function dynamicDir(list: () => Iterable<string | number>, child: (name: string) => Node | undefined): DirNode {
  return { type: 'dir', list: () => Array.from(list(), String), lookup: child };
}

/** The error a store returns for a value it refuses. */
export function invalid(reason: string): FsError {
  return { error: 'EINVAL', reason };
}

export function isFsError(x: unknown): x is FsError {
  return typeof x === 'object' && x !== null && 'error' in x;
}

// ---- Readers shared by FUSE and HTTP. Nothing here throws: a callback that throws becomes EIO.

function failure(error: FsErrorKind, reason: string): FsError {
  return { error, reason };
}

function thrown(what: string, path: string, err: unknown): FsError {
  return failure('EIO', `${what} of ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
}

/** Finds the node at an absolute or relative slash-separated path ('' and '/' are the root). */
export function resolve(root: DirNode, path: string): Node | FsError {
  let node: Node = root;
  for (const name of path.split('/')) {
    if (name === '') continue;
    if (node.type !== 'dir') return failure('ENOTDIR', `${path}: a path component is a file`);
    // Paths name nodes, not a real file system: '.' and '..' are never children.
    if (name === '.' || name === '..') return failure('ENOENT', `${path}: '.' and '..' are not node names`);
    let child: Node | undefined;
    try {
      child = node.lookup(name);
    } catch (err) {
      return thrown('lookup', path, err);
    }
    if (child === undefined) return failure('ENOENT', `${path}: no such node`);
    node = child;
  }
  return node;
}

/**
 * Renders a file's value now as bytes; EACCES for a write-only node, EIO when show throws. A constant node answers
 * its one shared rendering, which callers must not modify.
 */
export function render(node: FileNode, path: string): Buffer | FsError {
  if (node.fixed !== undefined) return node.fixed;
  if (node.show === undefined) return failure('EACCES', `${path} is write-only`);
  try {
    return Buffer.from(node.show(), 'utf8');
  } catch (err) {
    return thrown('show', path, err);
  }
}

/** Applies one write of text to a file; EACCES for a read-only node, the store's own error otherwise. */
export function store(node: FileNode, path: string, text: string): FsError | undefined {
  if (node.store === undefined) return failure('EACCES', `${path} is read-only`);
  try {
    return node.store(text) ?? undefined;
  } catch (err) {
    return thrown('store', path, err);
  }
}

/** The names in a directory now; EIO when list throws. */
export function listNames(node: DirNode, path: string): string[] | FsError {
  try {
    return Array.from(node.list());
  } catch (err) {
    return thrown('list', path, err);
  }
}

export interface DirEntry {
  readonly name: string;
  readonly type: 'file' | 'dir';
  readonly mode: number;
}

export type ReadResult =
  | { readonly kind: 'file'; readonly bytes: Buffer }
  | { readonly kind: 'dir'; readonly entries: DirEntry[] }
  | ({ readonly kind: 'error' } & FsError);

/** One read of a path for the HTTP mirror: a file's bytes, a directory's entries, or the error. */
export function readPath(root: DirNode, path: string): ReadResult {
  const node = resolve(root, path);
  if (isFsError(node)) return { kind: 'error', ...node };
  if (node.type === 'file') {
    const bytes = render(node, path);
    return isFsError(bytes) ? { kind: 'error', ...bytes } : { kind: 'file', bytes };
  }
  const names = listNames(node, path);
  if (isFsError(names)) return { kind: 'error', ...names };
  const entries: DirEntry[] = [];
  for (const name of names) {
    const child = resolve(node, name);
    if (isFsError(child)) {
      // A child that vanished between list and lookup is simply no longer there; any other failure is reported.
      if (child.error === 'ENOENT') continue;
      return { kind: 'error', ...child };
    }
    entries.push({ name, type: child.type, mode: child.type === 'file' ? child.mode : DIR_MODE });
  }
  return { kind: 'dir', entries };
}

/** One write to a path for the HTTP mirror, with the same rules as a write() through FUSE. */
export function writePath(root: DirNode, path: string, text: string): FsError | undefined {
  const node = resolve(root, path);
  if (isFsError(node)) return node;
  if (node.type === 'dir') return failure('EISDIR', `${path} is a directory`);
  return store(node, path, text);
}
