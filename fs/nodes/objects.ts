// Hypervisor objects of one type by id: the names of the msgqueues/ and doorbells/ directories. Ids are unique for
// the life of the hypervisor and never reused, so a name always means the same object.
import type { ObjectType } from '../../core/abi/objects.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { HypObject } from '../../core/hyp/object.js';

/** Ids of the live objects of a type, ascending (the registry holds them in creation order). */
export function* objectIds(hyp: Hypervisor, type: ObjectType): Iterable<number> {
  for (const o of hyp.objects.values()) if (o.type === type) yield o.id;
}

/** The live object of a type with this id (undefined for no id, another type or a destroyed object). */
export function objectById<T extends HypObject>(hyp: Hypervisor, type: ObjectType, id: number | undefined): T | undefined {
  const o = id === undefined ? undefined : hyp.objects.get(id);
  return o?.type === type ? (o as T) : undefined;
}
