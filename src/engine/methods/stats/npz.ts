/**
 * NumPy's `.npz` (np.savez / np.savez_compressed): a zip archive with one `<key>.npy` per array
 * (numpy/lib/npyio.py `_savez`; ROME's `tally` writes its statistics with `np.savez`). Read here from
 * the zip's central directory (PKWARE APPNOTE.TXT §4.3), entries stored or deflated, zip64 included
 * (NumPy writes large arrays with force_zip64). Each entry is read alone, at its offset: a 1 GB GPT-J
 * statistic is read once, not the archive twice.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { LocusError } from '../../errors';
import { fsError } from '../../files/read';

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const MAX32 = 0xffffffff;

/** A uint64 as a number; zip offsets and sizes beyond 2⁵³ are not files Locus will meet. */
const u64 = (b: Buffer, at: number): number => Number(b.readBigUInt64LE(at));

/** An open .npz: its entries by name; `read` returns one entry's uncompressed bytes. */
export class NpzArchive {
  private constructor(
    private readonly fd: number,
    readonly file: string,
    private readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Opens `file` and reads its central directory; throws LocusError on anything that is not a readable zip. */
  static open(file: string): NpzArchive {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw fsError(e, file, 'statistics file');
    }
    try {
      return new NpzArchive(fd, file, readCentralDirectory(fd, file));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** The array keys (entry names without `.npy`). */
  keys(): string[] {
    return [...this.entries.keys()].filter((n) => n.endsWith('.npy')).map((n) => n.slice(0, -4));
  }

  has(key: string): boolean {
    return this.entries.has(`${key}.npy`);
  }

  /** The .npy bytes of array `key`, checked against the entry's size and CRC-32. */
  read(key: string): Buffer {
    const e = this.entries.get(`${key}.npy`);
    if (!e) throw new LocusError('bad-input', `${this.file} has no array ${key} (it holds ${this.keys().join(', ') || 'none'})`);
    const bad = (why: string): LocusError => new LocusError('bad-input', `${this.file}: array ${key} ${why}`);
    if (e.flags & 1) throw bad('is encrypted');
    if (e.method !== STORED && e.method !== DEFLATED) throw bad(`uses zip compression method ${e.method}; Locus reads stored or deflated entries (np.savez, np.savez_compressed)`);
    const local = Buffer.alloc(30);
    if (fs.readSync(this.fd, local, 0, 30, e.localHeaderOffset) !== 30 || local.readUInt32LE(0) !== LOCAL_SIG) throw bad('has no local header where the directory says (a damaged or truncated file)');
    const start = e.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const raw = Buffer.allocUnsafe(e.compressedSize);
    let got = 0;
    while (got < raw.length) {
      const n = fs.readSync(this.fd, raw, got, raw.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== raw.length) throw bad(`is truncated (${got} of ${raw.length} bytes)`);
    let data: Buffer;
    if (e.method === STORED) data = raw;
    else {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        throw bad(`cannot be inflated (${(err as Error).message})`);
      }
    }
    if (data.length !== e.size) throw bad(`has ${data.length} bytes, the directory says ${e.size} (a damaged file)`);
    if (zlib.crc32(data) !== e.crc32) throw bad('fails its CRC-32 check (a damaged file)');
    return data;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = fs.readSync(fd, b, 0, length, offset);
  return b.subarray(0, n);
}

function readCentralDirectory(fd: number, file: string): Map<string, ZipEntry> {
  const notZip = (why: string): LocusError => new LocusError('bad-input', `${file} is not a readable .npz (${why}): a truncated download, or not a NumPy archive`);
  const size = fs.fstatSync(fd).size;
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535 bytes, at the end.
  const tailStart = Math.max(0, size - 22 - 0xffff);
  const tail = readAt(fd, tailStart, size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('no end-of-central-directory record');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === MAX32 || cdOffset === MAX32) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) throw notZip('a zip64 archive without its locator');
    const rec = readAt(fd, u64(tail, loc + 8), 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw notZip('no zip64 end-of-central-directory record');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > size) throw notZip(`the central directory lies past the end of the file (${size} bytes)`);
  const cd = readAt(fd, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw notZip(`central directory entry ${i} is damaged`);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    let size32 = cd.readUInt32LE(p + 24);
    let csize32 = cd.readUInt32LE(p + 20);
    let offset32 = cd.readUInt32LE(p + 42);
    // Zip64 extended information (header id 0x0001): the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
    const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    for (let q = 0; q + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(q);
      const len = extra.readUInt16LE(q + 2);
      if (id === 1) {
        let r = q + 4;
        const next = (): number => {
          if (r + 8 > q + 4 + len) throw notZip(`entry ${name} has a short zip64 field`);
          const v = u64(extra, r);
          r += 8;
          return v;
        };
        if (size32 === MAX32) size32 = next();
        if (csize32 === MAX32) csize32 = next();
        if (offset32 === MAX32) offset32 = next();
      }
      q += 4 + len;
    }
    entries.set(name, {
      name,
      method: cd.readUInt16LE(p + 10),
      flags: cd.readUInt16LE(p + 8),
      crc32: cd.readUInt32LE(p + 16),
      compressedSize: csize32,
      size: size32,
      localHeaderOffset: offset32,
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
