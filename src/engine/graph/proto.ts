/**
 * A minimal protobuf writer for ONNX's ModelProto: just the fields the engine emits.
 * Field numbers are from onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto). Tensors go out as `raw_data` (little-endian), so a
 * 30 MB block serializes with one copy.
 */

export const enum WireType {
  Varint = 0,
  Bytes = 2,
  Fixed32 = 5,
}

/** ONNX TensorProto.DataType values used by the engine. */
export const DataType = { float: 1, int32: 6, int64: 7, bool: 9, double: 11 } as const;
export type DataTypeName = keyof typeof DataType;

/** Accumulates protobuf bytes; nested messages are written into a child and copied once. */
class Writer {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }

  private byte(b: number): void {
    this.scratch.push(b);
    this.length++;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  tag(field: number, wire: WireType): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WireType.Bytes);
    this.varint(data.length);
    this.flushScratch();
    this.chunks.push(data);
    this.length += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, WireType.Varint);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, WireType.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.byte(x);
  }

  /** Nested message: the child's chunks are adopted, not copied, so big tensors are copied once in finish(). */
  message(field: number, write: (w: Writer) => void): void {
    const child = new Writer();
    write(child);
    child.flushScratch();
    this.tag(field, WireType.Bytes);
    this.varint(child.length);
    this.flushScratch();
    for (const c of child.chunks) this.chunks.push(c);
    this.length += child.length;
  }

  finish(): Uint8Array {
    this.flushScratch();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

export type AttrValue = number | string | number[] | { ints: number[] } | { floats: number[] } | { float: number } | TensorValue;

export interface TensorValue {
  readonly name?: string;
  readonly dataType: DataTypeName;
  readonly dims: readonly number[];
  /** Little-endian raw bytes of the values (empty when `external` says where they are). */
  readonly raw: Uint8Array;
  /** The values live in a file ORT maps itself (ONNX external data: location relative to the model's folder, byte offset, length). */
  readonly external?: { readonly location: string; readonly offset: number; readonly length: number };
}

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

export interface ValueSpec {
  readonly name: string;
  readonly dataType: DataTypeName;
  /** A number is a fixed size; a string is a symbolic dimension (batch, pos). */
  readonly dims: readonly (number | string)[];
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorValue[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
}

function writeTensor(w: Writer, t: TensorValue): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, DataType[t.dataType]);
  if (t.name) w.string(8, t.name);
  if (!t.external) {
    w.bytes(9, t.raw);
    return;
  }
  // TensorProto.external_data (13): StringStringEntryProto {key 1, value 2}; data_location (14) = EXTERNAL.
  const { location, offset, length } = t.external;
  for (const [k, v] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) {
    w.message(13, (e) => {
      e.string(1, k);
      e.string(2, v);
    });
  }
  w.int(14, 1);
}

// AttributeProto.AttributeType
const ATTR = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function writeAttr(w: Writer, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    w.int(3, v);
    w.int(20, ATTR.int);
  } else if (typeof v === 'string') {
    w.string(4, v);
    w.int(20, ATTR.string);
  } else if (Array.isArray(v) || 'ints' in v) {
    const ints = Array.isArray(v) ? v : v.ints;
    for (const i of ints) w.int(8, i);
    w.int(20, ATTR.ints);
  } else if ('floats' in v) {
    for (const f of v.floats) w.float(7, f);
    w.int(20, ATTR.floats);
  } else if ('float' in v) {
    w.float(2, v.float);
    w.int(20, ATTR.float);
  } else {
    w.message(5, (t) => writeTensor(t, v));
    w.int(20, ATTR.tensor);
  }
}

function writeValueInfo(w: Writer, v: ValueSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, DataType[v.dataType]);
      tt.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

/** Serializes a graph as an ONNX ModelProto (IR version 8, default-domain opset `opset`). */
export function encodeModel(graph: GraphSpec, opset = 17): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'locus'); // producer_name
  w.message(7, (g) => {
    for (const n of graph.nodes) {
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name);
        node.string(4, n.opType);
        for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, (a) => writeAttr(a, k, v));
      });
    }
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of graph.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of graph.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, opset);
  });
  return w.finish();
}

/** Little-endian bytes of a typed array (no copy on little-endian hosts, which Node's targets are). */
export function rawBytes(a: Float32Array | Int32Array | BigInt64Array | Float64Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
