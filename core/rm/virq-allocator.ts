// The vIRQ numbers the RM hands out on one VM's vIC for the sources it binds there (RM link, vdevices). The RM
// allocates shared numbers (spec §4.5: SPIs, edge; §8.1: Linux v15+ expects SPI or ESPI): SPIs first, then ESPIs.
import { VIRQ_RANGE } from '../abi/virq.js';

export class VirqAllocator {
  private readonly free: number[] = [];
  private nextSpi: number = VIRQ_RANGE.SPI.first;
  private nextEspi: number = VIRQ_RANGE.ESPI.first;

  /** @param spiCount the SPIs the vIC was configured with (vic_configure max_virqs) */
  constructor(private readonly spiCount: number) {}

  /** The lowest released number, else the next unused SPI, else ESPI; null when both ranges are spent. */
  alloc(): number | null {
    if (this.free.length > 0) return this.free.pop()!;
    if (this.nextSpi < VIRQ_RANGE.SPI.first + this.spiCount) return this.nextSpi++;
    if (this.nextEspi <= VIRQ_RANGE.ESPI.last) return this.nextEspi++;
    return null;
  }

  release(virq: number): void {
    this.free.push(virq);
    this.free.sort((a, b) => b - a);
  }
}
