// The FUSE adapter: fuse-native operations over a sysfs tree (fs/tree.ts). lxcfs style, each open renders one
// snapshot into a per-handle buffer and every read of that handle is served from it, so `cat` never sees a torn
// value while a new open sees fresh state. Writes follow sysfs: each write() call is one store.
// Every operation answers exactly once, whatever the tree does: a throwing callback becomes EIO, never a hung mount.
import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import {
  DIR_MODE, isFsError, listNames, render, resolve, store,
  type DirNode, type FileNode, type FsError, type FsErrorKind, type Node,
} from './tree.js';

const E = constants.errno;

/** fuse-native wants negative errno values. */
export const FUSE_ERRNO: Readonly<Record<FsErrorKind, number>> = {
  ENOENT: -E.ENOENT,
  ENOTDIR: -E.ENOTDIR,
  EISDIR: -E.EISDIR,
  EACCES: -E.EACCES,
  EPERM: -E.EPERM,
  EINVAL: -E.EINVAL,
  EBUSY: -E.EBUSY,
  EIO: -E.EIO,
};
const EBADF = -E.EBADF;

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const O_ACCMODE = 3;
const O_WRONLY = 1;
/** Like sysfs: a live attribute claims a page, its real length is only known once rendered. */
const FILE_SIZE = 4096;

/** The stat fields fuse-native reads (times in milliseconds). */
export interface FuseStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly nlink: number;
  readonly mtime: number;
  readonly atime: number;
  readonly ctime: number;
}

type Done = (result: number) => void;

/** The subset of fuse-native's operations this adapter implements. */
export interface FuseOps {
  getattr(path: string, cb: (err: number, stat?: FuseStat) => void): void;
  readdir(path: string, cb: (err: number, names?: string[]) => void): void;
  access(path: string, mode: number, cb: Done): void;
  open(path: string, flags: number, cb: (err: number, fh?: number) => void): void;
  read(path: string, fh: number, buf: Buffer, len: number, pos: number, cb: Done): void;
  write(path: string, fh: number, buf: Buffer, len: number, pos: number, cb: Done): void;
  release(path: string, fh: number, cb: Done): void;
  truncate(path: string, size: number, cb: Done): void;
  ftruncate(path: string, fh: number, size: number, cb: Done): void;
  create(path: string, mode: number, cb: Done): void;
  mknod(path: string, mode: number, dev: number, cb: Done): void;
  mkdir(path: string, mode: number, cb: Done): void;
  unlink(path: string, cb: Done): void;
  rmdir(path: string, cb: Done): void;
  rename(src: string, dest: string, cb: Done): void;
  link(src: string, dest: string, cb: Done): void;
  symlink(src: string, dest: string, cb: Done): void;
  chmod(path: string, mode: number, cb: Done): void;
  chown(path: string, uid: number, gid: number, cb: Done): void;
  utimens(path: string, atime: number, mtime: number, cb: Done): void;
}

/** A failure worth a log line: a tree callback threw (EIO) or the adapter itself did. */
export interface Fault {
  readonly op: string;
  readonly path: string;
  readonly reason: string;
}

export interface FuseOpsOptions {
  /** How long a resolved path is reused; kept short so dynamic children appear and vanish promptly. */
  readonly nodeCacheMs?: number;
  /** Receives every EIO; the default prints one line on stderr. */
  readonly onFault?: (fault: Fault) => void;
  /** Clock in milliseconds (tests drive it). */
  readonly now?: () => number;
}

/** The adapter's state, exposed for tests and metrics. */
export interface SysfsFuseOps extends FuseOps {
  /** Handles currently open. */
  openHandles(): number;
}

interface Handle {
  readonly node: FileNode;
  /** The value rendered at open, for handles opened for reading. */
  readonly snapshot: Buffer | undefined;
  readonly writable: boolean;
}

interface Resolved {
  readonly node: Node;
  readonly stat: FuseStat;
  readonly until: number;
}

/** With the mount's 0.4 s kernel cache (mount-lifecycle.ts), a vanished node is gone everywhere within 0.5 s. */
export const DEFAULT_NODE_CACHE_MS = 100;
/** Past this many cached paths the cache starts over; a bound, not a tuning knob. */
const NODE_CACHE_MAX = 8192;
/** fuse-native reads a handle id as a signed 32-bit number, and 0 as "no handle". */
const FH_LIMIT = 0x7fffffff;

function defaultFault(fault: Fault): void {
  console.error(`sysfs: ${fault.op} ${fault.path}: ${fault.reason}`);
}

export function fuseOps(root: DirNode, options: FuseOpsOptions = {}): SysfsFuseOps {
  const cacheMs = options.nodeCacheMs ?? DEFAULT_NODE_CACHE_MS;
  const onFault = options.onFault ?? defaultFault;
  const now = options.now ?? Date.now;
  const bornAt = now();
  const cache = new Map<string, Resolved>();
  const handles = new Map<number, Handle>();
  let lastFh = 0;

  /**
   * A constant's exact length lets readers that trust st_size (Node's readFile) stop after one read instead of asking
   * again for end of file: one round trip to this process less. A live value never reports its length: the kernel
   * keeps a size for the attribute timeout, and one that a grown value has outdated would cut such readers short.
   */
  function sizeOf(node: FileNode): number {
    return node.fixed?.length ?? FILE_SIZE;
  }

  function statOf(node: Node): FuseStat {
    const isFile = node.type === 'file';
    return {
      mode: isFile ? S_IFREG | node.mode : S_IFDIR | DIR_MODE,
      uid: 0,
      gid: 0,
      size: isFile ? sizeOf(node) : 0,
      // 1 is the convention for "subdirectories not counted", which find and fts honour for directories.
      nlink: 1,
      mtime: bornAt,
      atime: bornAt,
      ctime: bornAt,
    };
  }

  function fail(op: string, path: string, err: FsError): number {
    if (err.error === 'EIO') onFault({ op, path, reason: err.reason ?? 'I/O error' });
    return FUSE_ERRNO[err.error];
  }

  /** The node at path, from the short-lived cache when possible; errors are never cached. */
  function lookup(op: string, path: string): Resolved | number {
    const t = now();
    const hit = cache.get(path);
    if (hit !== undefined && hit.until > t) return hit;
    const node = resolve(root, path);
    if (isFsError(node)) return fail(op, path, node);
    if (cache.size >= NODE_CACHE_MAX) cache.clear();
    const entry = { node, stat: statOf(node), until: t + cacheMs };
    cache.set(path, entry);
    return entry;
  }

  function fileAt(op: string, path: string): FileNode | number {
    const found = lookup(op, path);
    if (typeof found === 'number') return found;
    return found.node.type === 'file' ? found.node : FUSE_ERRNO.EISDIR;
  }

  function nextFh(): number {
    do lastFh = lastFh >= FH_LIMIT ? 1 : lastFh + 1;
    while (handles.has(lastFh));
    return lastFh;
  }

  function open(path: string, flags: number): number {
    const node = fileAt('open', path);
    if (typeof node === 'number') return node;
    const accmode = flags & O_ACCMODE;
    const readable = accmode !== O_WRONLY;
    const writable = accmode !== 0;
    // Checked here rather than left to mode bits: root bypasses those, and sysfs refuses root too.
    if (readable && node.show === undefined) return FUSE_ERRNO.EACCES;
    if (writable && node.store === undefined) return FUSE_ERRNO.EACCES;
    let snapshot: Buffer | undefined;
    if (readable) {
      const bytes = render(node, path);
      if (isFsError(bytes)) return fail('open', path, bytes);
      snapshot = bytes;
    }
    const fh = nextFh();
    handles.set(fh, { node, snapshot, writable });
    return fh;
  }

  function read(fh: number, buf: Buffer, len: number, pos: number): number {
    const snapshot = handles.get(fh)?.snapshot;
    if (snapshot === undefined) return EBADF;
    if (pos >= snapshot.length) return 0;
    return snapshot.copy(buf, 0, pos, Math.min(snapshot.length, pos + len));
  }

  function write(path: string, fh: number, buf: Buffer, len: number): number {
    const handle = handles.get(fh);
    if (handle === undefined || !handle.writable) return EBADF;
    const err = store(handle.node, path, buf.toString('utf8', 0, len));
    return err === undefined ? len : fail('write', path, err);
  }

  /** Truncation is how shells open for writing (O_TRUNC); on a writable node it is a no-op, as in sysfs. */
  function truncate(path: string): number {
    const node = fileAt('truncate', path);
    if (typeof node === 'number') return node;
    return node.store === undefined ? FUSE_ERRNO.EACCES : 0;
  }

  function access(path: string, mode: number): number {
    const node = lookup('access', path);
    if (typeof node === 'number') return node;
    if (node.node.type === 'dir') return mode & fsConstants.W_OK ? FUSE_ERRNO.EACCES : 0;
    if (mode & fsConstants.R_OK && node.node.show === undefined) return FUSE_ERRNO.EACCES;
    if (mode & fsConstants.W_OK && node.node.store === undefined) return FUSE_ERRNO.EACCES;
    if (mode & fsConstants.X_OK) return FUSE_ERRNO.EACCES;
    return 0;
  }

  function readdir(path: string): string[] | number {
    const found = lookup('readdir', path);
    if (typeof found === 'number') return found;
    if (found.node.type !== 'dir') return FUSE_ERRNO.ENOTDIR;
    const names = listNames(found.node, path);
    return isFsError(names) ? fail('readdir', path, names) : ['.', '..', ...names];
  }

  /** Runs an operation so that it answers exactly once: an exception in the adapter itself becomes EIO. */
  function answer(op: string, path: string, run: () => number): number {
    try {
      return run();
    } catch (err) {
      onFault({ op, path, reason: `adapter: ${err instanceof Error ? err.stack ?? err.message : String(err)}` });
      return FUSE_ERRNO.EIO;
    }
  }

  // The tree's shape is fixed by the tree itself: nothing can be created, removed or re-permissioned from outside.
  const refuseNamespace = (cb: Done): void => cb(FUSE_ERRNO.EACCES);
  const refuseAttributes = (cb: Done): void => cb(FUSE_ERRNO.EPERM);

  return {
    getattr(path, cb) {
      let stat: FuseStat | undefined;
      const err = answer('getattr', path, () => {
        const found = lookup('getattr', path);
        if (typeof found === 'number') return found;
        stat = found.stat;
        return 0;
      });
      cb(err, stat);
    },
    readdir(path, cb) {
      let names: string[] | undefined;
      const err = answer('readdir', path, () => {
        const found = readdir(path);
        if (typeof found === 'number') return found;
        names = found;
        return 0;
      });
      cb(err, names);
    },
    access: (path, mode, cb) => cb(answer('access', path, () => access(path, mode))),
    open(path, flags, cb) {
      const fh = answer('open', path, () => open(path, flags));
      if (fh < 0) cb(fh);
      else cb(0, fh);
    },
    read: (path, fh, buf, len, pos, cb) => cb(answer('read', path, () => read(fh, buf, len, pos))),
    write: (path, fh, buf, len, _pos, cb) => cb(answer('write', path, () => write(path, fh, buf, len))),
    release(_path, fh, cb) {
      handles.delete(fh);
      cb(0);
    },
    truncate: (path, _size, cb) => cb(answer('truncate', path, () => truncate(path))),
    ftruncate: (_path, fh, _size, cb) => cb(handles.get(fh)?.writable ? 0 : EBADF),
    create: (_path, _mode, cb) => refuseNamespace(cb),
    mknod: (_path, _mode, _dev, cb) => refuseNamespace(cb),
    mkdir: (_path, _mode, cb) => refuseNamespace(cb),
    unlink: (_path, cb) => refuseNamespace(cb),
    rmdir: (_path, cb) => refuseNamespace(cb),
    rename: (_src, _dest, cb) => refuseNamespace(cb),
    link: (_src, _dest, cb) => refuseNamespace(cb),
    symlink: (_src, _dest, cb) => refuseNamespace(cb),
    chmod: (_path, _mode, cb) => refuseAttributes(cb),
    chown: (_path, _uid, _gid, cb) => refuseAttributes(cb),
    utimens: (_path, _atime, _mtime, cb) => refuseAttributes(cb),
    openHandles: () => handles.size,
  };
}
