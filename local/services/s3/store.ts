/**
 * Where the local S3 keeps buckets and objects: in memory, or on disk under a data directory so
 * they outlive a restart. Metadata of every object is held in memory either way (listing is a
 * sort of the keys); bodies stay on disk when there is a data directory.
 *
 * On disk, a bucket is a directory; an object is `<sha256(key)>.json` (its record and the name
 * of its body file) and a body file named afresh on every write, so a record on disk always
 * names a complete body: the body is written and renamed into place before the record is.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Error } from './errors';

/** A tag on an object. */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** Everything S3 answers about an object except its body. */
export interface ObjectRecord {
  readonly key: string;
  readonly size: number;
  /** Quoted, as the `ETag` header shows it: `"<md5>"`, or `"<md5 of part md5s>-<parts>"`. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  /** `content-encoding`, `content-disposition`, `cache-control`, `content-language`, `expires`, as sent. */
  readonly headers: Readonly<Record<string, string>>;
  /** User metadata: `x-amz-meta-*` names, lower-case and without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly tags: readonly Tag[];
  /** Set for an object made by CompleteMultipartUpload. */
  readonly partsCount?: number;
}

interface Entry {
  readonly record: ObjectRecord;
  /** The body, when kept in memory. */
  readonly body?: Buffer;
  /** The body's file name in the bucket directory, when kept on disk. */
  readonly file?: string;
}

interface BucketState {
  readonly created: Date;
  readonly objects: Map<string, Entry>;
}

interface StoredEntry extends Omit<ObjectRecord, 'lastModified'> {
  readonly lastModified: string;
  readonly file: string;
}

/** Buckets and their objects. Writes to one key happen one at a time, in the order they came. */
export class ObjectStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly queues = new Map<string, Promise<unknown>>();

  private constructor(private readonly dataDir: string | undefined) {}

  /** Opens a store, loading what `dataDir` holds; in memory when `dataDir` is undefined. */
  static async open(dataDir?: string): Promise<ObjectStore> {
    const store = new ObjectStore(dataDir);
    if (dataDir) await store.load(dataDir);
    return store;
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  /** Buckets by name, with when each was made. */
  listBuckets(): readonly { readonly name: string; readonly created: Date }[] {
    return [...this.buckets].map(([name, state]) => ({ name, created: state.created })).sort((a, b) => compareKeys(a.name, b.name));
  }

  /** Makes a bucket; false when it exists already (its objects are kept). */
  async createBucket(name: string): Promise<boolean> {
    if (this.buckets.has(name)) return false;
    if (this.dataDir) await mkdir(join(this.dataDir, name), { recursive: true });
    this.buckets.set(name, { created: new Date(), objects: new Map() });
    return true;
  }

  /** @throws S3Error BucketNotEmpty when it still holds objects */
  async deleteBucket(name: string): Promise<void> {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0) throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', { BucketName: name });
    this.buckets.delete(name);
    if (this.dataDir) await rm(join(this.dataDir, name), { recursive: true, force: true });
  }

  /** The object's record, or undefined when there is no such key. */
  head(bucket: string, key: string): ObjectRecord | undefined {
    return this.bucket(bucket).objects.get(key)?.record;
  }

  /** The body of the object as it is now, with its record (both from the same write). */
  async read(bucket: string, key: string): Promise<{ record: ObjectRecord; body: Buffer } | undefined> {
    const entry = this.bucket(bucket).objects.get(key);
    if (!entry) return undefined;
    if (entry.body) return { record: entry.record, body: entry.body };
    return { record: entry.record, body: await readFile(join(this.dataDir!, bucket, entry.file!)) };
  }

  /** Keys of a bucket in S3's order (by their UTF-8 bytes). */
  keys(bucket: string): string[] {
    return [...this.bucket(bucket).objects.keys()].sort(compareKeys);
  }

  /** Writes an object; it is durable (on disk, when there is a data directory) when this resolves. */
  async put(bucket: string, record: ObjectRecord, body: Buffer): Promise<ObjectRecord> {
    this.bucket(bucket);
    return this.serial(`${bucket}/${record.key}`, async () => {
      const objects = this.bucket(bucket).objects;
      const previous = objects.get(record.key);
      if (!this.dataDir) {
        objects.set(record.key, { record, body });
        return record;
      }
      const dir = join(this.dataDir, bucket);
      const id = fileId(record.key);
      const file = `${id}.${randomUUID()}.bin`;
      await writeAtomically(join(dir, file), body);
      const stored: StoredEntry = { ...record, lastModified: record.lastModified.toISOString(), file };
      await writeAtomically(join(dir, `${id}.json`), JSON.stringify(stored));
      objects.set(record.key, { record, file });
      if (previous?.file) await rm(join(dir, previous.file), { force: true });
      return record;
    });
  }

  /** Replaces an object's tags, keeping its body. */
  async setTags(bucket: string, key: string, tags: readonly Tag[]): Promise<ObjectRecord | undefined> {
    return this.serial(`${bucket}/${key}`, async () => {
      const objects = this.bucket(bucket).objects;
      const entry = objects.get(key);
      if (!entry) return undefined;
      const record = { ...entry.record, tags };
      if (this.dataDir && entry.file) {
        const stored: StoredEntry = { ...record, lastModified: record.lastModified.toISOString(), file: entry.file };
        await writeAtomically(join(this.dataDir, bucket, `${fileId(key)}.json`), JSON.stringify(stored));
      }
      objects.set(key, { ...entry, record });
      return record;
    });
  }

  /** Removes an object; resolves to what was removed, or undefined when there was nothing. */
  async delete(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    this.bucket(bucket);
    return this.serial(`${bucket}/${key}`, async () => {
      const objects = this.bucket(bucket).objects;
      const entry = objects.get(key);
      if (!entry) return undefined;
      if (this.dataDir) {
        const dir = join(this.dataDir, bucket);
        await rm(join(dir, `${fileId(key)}.json`), { force: true });
        if (entry.file) await rm(join(dir, entry.file), { force: true });
      }
      objects.delete(key);
      return entry.record;
    });
  }

  private bucket(name: string): BucketState {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  /** Runs writes to one key one after another, so the last write in is the one that stays. */
  private serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }

  private async load(dataDir: string): Promise<void> {
    await mkdir(dataDir, { recursive: true });
    for (const dirent of await readdir(dataDir, { withFileTypes: true })) {
      if (!dirent.isDirectory()) continue;
      const dir = join(dataDir, dirent.name);
      const objects = new Map<string, Entry>();
      const files = await readdir(dir);
      const referenced = new Set<string>();
      for (const name of files.filter((file) => file.endsWith('.json'))) {
        const stored = JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredEntry;
        const { file, lastModified, ...rest } = stored;
        objects.set(stored.key, { record: { ...rest, lastModified: new Date(lastModified) }, file });
        referenced.add(file);
      }
      // Bodies no record names, and temporary files, are what a write cut short left behind.
      for (const name of files) {
        if ((name.endsWith('.bin') && !referenced.has(name)) || name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
      }
      const info = await stat(dir);
      // Not every file system keeps a birth time; the directory's mtime is the next best.
      this.buckets.set(dirent.name, { created: info.birthtimeMs > 0 ? info.birthtime : info.mtime, objects });
    }
  }
}

/** S3 orders keys by their UTF-8 bytes, which is not JavaScript's UTF-16 order for every character. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function fileId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

async function writeAtomically(path: string, data: Buffer | string): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}
