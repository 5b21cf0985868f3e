/**
 * Run IDs: `wrun_` + 10 Crockford base32 characters of millisecond time + 16 of randomness (80 bits).
 * Time first so IDs sort by creation, like ULIDs; written here (not the `ulid` package) because it is
 * ten lines and every world needs exactly this shape.
 */
import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function newRunId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = "";
  // 10 bytes = 80 bits = 16 base32 characters, 5 bits each.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return `wrun_${time}${rand}`;
}
