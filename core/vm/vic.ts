// spec §8.1: a per-VM virtual interrupt controller. Each source (doorbell, msgqueue end, vCPU wakeup, ...) binds
// to one (vic, vIRQ) pair. doorbell and msgqueue sources are level-style: the line stays pending while the source's
// condition holds, re-checked at end of interrupt (the hypervisor's virq_check_pending).
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { VIRQ_INFO, VIRQ_RANGE } from '../abi/virq.js';
import { HypObject } from '../hyp/object.js';
import { ArrivalSet } from './arrival-set.js';

/** One interrupt source. `checkPending` makes it level-triggered; without it, it is an edge source. */
export class VirqSource {
  vic: Vic | null = null;
  virq = 0;
  vcpuIndex = 0;
  /** Times this source raised its line: statistics and vIRQ timing tests read it. */
  asserts = 0;

  constructor(readonly checkPending?: () => boolean) {}

  get bound(): boolean {
    return this.vic !== null;
  }

  /** *_bind_virq (spec §4.4): VIRQ_BOUND when already bound, BUSY when the number is taken, ARGUMENT_INVALID. */
  bind(vic: Vic, virqInfo: number, hiWord: number): GhError {
    if (this.vic !== null) return GH_ERROR.VIRQ_BOUND;
    const virq = virqInfo & VIRQ_INFO.NUMBER_MASK;
    const vcpuIndex = (virqInfo >>> VIRQ_INFO.VCPU_SHIFT) & VIRQ_INFO.VCPU_MASK;
    if (hiWord !== 0 || !vic.validVirq(virq, vcpuIndex)) return GH_ERROR.ARGUMENT_INVALID;
    if (vic.sourceOf(virq, vcpuIndex) !== undefined) return GH_ERROR.BUSY;
    this.vic = vic;
    this.virq = virq;
    this.vcpuIndex = vcpuIndex;
    vic.attachSource(this);
    return GH_ERROR.OK;
  }

  /**
   * Shared sources (doorbells, message-queue ends: the hypervisor's vic_bind_shared) take SPI/ESPI numbers only;
   * a private number or a vCPU index is ARGUMENT_INVALID (spec §8.1).
   */
  bindShared(vic: Vic, virqInfo: number, hiWord: number): GhError {
    if (this.vic !== null) return GH_ERROR.VIRQ_BOUND;
    if ((virqInfo >>> VIRQ_INFO.VCPU_SHIFT) !== 0 || isPrivate(virqInfo)) return GH_ERROR.ARGUMENT_INVALID;
    return this.bind(vic, virqInfo, hiWord);
  }

  /** *_unbind_virq: idempotent. */
  unbind(): void {
    this.vic?.detachSource(this);
    this.vic = null;
  }

  /** @param edgeOnly raise the line only if the guest configured it edge-triggered (spec §5 doorbell_send). */
  assert(edgeOnly = false): void {
    this.asserts++;
    this.vic?.raise(this, edgeOnly);
  }

  clear(): void {
    this.vic?.lower(this);
  }
}

const isPrivate = (virq: number): boolean =>
  virq <= VIRQ_RANGE.PRIVATE.last || (virq >= VIRQ_RANGE.EPPI.first && virq <= VIRQ_RANGE.EPPI.last);

/** Per-VM vGIC. Pending lines are kept per target: each private range per vCPU, shared lines for any vCPU. */
export class Vic extends HypObject {
  readonly type = 'vic' as const;
  // The hypervisor's defaults at creation: a vic activates unconfigured with one vCPU and no SPIs.
  maxVcpus = 1;
  maxVirqs = 0;
  private readonly sources = new Map<number, VirqSource>();
  /** Pending interrupts in arrival order: key = virq for shared lines, virq | vcpu << 24 for private ones. */
  private readonly pending = new ArrivalSet();
  /** Lines the guest configured edge-triggered (GICD_ICFGR); the others are level-sensitive. */
  private readonly edgeLines = new Set<number>();
  private readonly vcpuSlots: (object | undefined)[] = [];
  /** Called when a line becomes pending: the VM wakes the target vCPU (-1: any vCPU). */
  onPending: ((vcpuIndex: number) => void) | null = null;

  /** vic_configure (spec §8.1): 1-256 vCPUs, 0-988 SPIs (0: shared sources can use ESPIs only). */
  configure(maxVcpus: number, maxVirqs: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (!(maxVcpus > 0 && maxVcpus <= 256)) return GH_ERROR.ARGUMENT_INVALID;
    if (!(maxVirqs >= 0 && maxVirqs <= VIRQ_RANGE.SPI.last - VIRQ_RANGE.SPI.first + 1)) return GH_ERROR.ARGUMENT_INVALID;
    this.maxVcpus = maxVcpus;
    this.maxVirqs = maxVirqs;
    return GH_ERROR.OK;
  }

  /** vic_attach_vcpu: index below max_vcpus, each index once; attaching a vCPU again moves it. */
  attachVcpu(index: number, vcpu: object): GhError {
    if (!(index >= 0 && index < this.maxVcpus)) return GH_ERROR.ARGUMENT_INVALID;
    const holder = this.vcpuSlots[index];
    if (holder !== undefined && holder !== vcpu) return GH_ERROR.BUSY;
    const previous = this.vcpuSlots.indexOf(vcpu);
    if (previous >= 0) this.vcpuSlots[previous] = undefined;
    this.vcpuSlots[index] = vcpu;
    return GH_ERROR.OK;
  }

  /** The vCPU attached at an index, if any. */
  vcpuAt(index: number): object | undefined {
    return this.vcpuSlots[index];
  }

  /** The guest's trigger configuration of a line (GICD_ICFGR / GICR_ICFGR). */
  setEdgeTriggered(virq: number, edge: boolean, vcpuIndex = 0): void {
    const key = this.key(virq, vcpuIndex);
    if (edge) this.edgeLines.add(key);
    else this.edgeLines.delete(key);
  }

  isEdgeTriggered(virq: number, vcpuIndex = 0): boolean {
    return this.edgeLines.has(this.key(virq, vcpuIndex));
  }

  validVirq(virq: number, vcpuIndex: number): boolean {
    if (isPrivate(virq)) return vcpuIndex < this.maxVcpus;
    if (virq >= VIRQ_RANGE.SPI.first && virq <= VIRQ_RANGE.SPI.last) return virq < VIRQ_RANGE.SPI.first + this.maxVirqs;
    return virq >= VIRQ_RANGE.ESPI.first && virq <= VIRQ_RANGE.ESPI.last;
  }

  private key(virq: number, vcpuIndex: number): number {
    return isPrivate(virq) ? virq + vcpuIndex * 0x1000000 : virq;
  }

  sourceOf(virq: number, vcpuIndex = 0): VirqSource | undefined {
    return this.sources.get(this.key(virq, vcpuIndex));
  }

  attachSource(s: VirqSource): void {
    this.sources.set(this.key(s.virq, s.vcpuIndex), s);
  }

  detachSource(s: VirqSource): void {
    const key = this.key(s.virq, s.vcpuIndex);
    this.sources.delete(key);
    this.pending.forget(key);
  }

  /** An edge-only assert makes a level-sensitive line pending only if it is configured edge-triggered. */
  raise(s: VirqSource, edgeOnly = false): void {
    const key = this.key(s.virq, s.vcpuIndex);
    if (this.pending.has(key) || (edgeOnly && !this.edgeLines.has(key))) return;
    this.pending.add(key);
    this.onPending?.(isPrivate(s.virq) ? s.vcpuIndex : -1);
  }

  lower(s: VirqSource): void {
    this.pending.delete(this.key(s.virq, s.vcpuIndex));
  }

  isPending(virq: number, vcpuIndex = 0): boolean {
    return this.pending.has(this.key(virq, vcpuIndex));
  }

  hasPendingFor(vcpuIndex: number): boolean {
    for (const key of this.pending.keys()) if (key < 0x1000000 || Math.floor(key / 0x1000000) === vcpuIndex) return true;
    return false;
  }

  /** Acknowledge the oldest interrupt pending for a vCPU (GIC IAR read); -1 when none. */
  acknowledge(vcpuIndex: number): number {
    for (const key of this.pending.keys()) {
      const target = Math.floor(key / 0x1000000);
      if (key >= 0x1000000 && target !== vcpuIndex) continue;
      this.pending.delete(key); // then returns: the loop never goes on over the changed keys
      return key % 0x1000000;
    }
    return -1;
  }

  /** End of interrupt: on a level-sensitive line, a level source whose condition still holds is pending again. */
  endOfInterrupt(virq: number, vcpuIndex = 0): void {
    const key = this.key(virq, vcpuIndex);
    const s = this.sources.get(key);
    if (s !== undefined && !this.edgeLines.has(key) && s.checkPending?.()) this.raise(s);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  boundSources(): IterableIterator<VirqSource> {
    return this.sources.values();
  }
}
