/**
 * The files of a model in a compact form: the names in one array, sizes, modification times and
 * inode numbers in typed arrays, the path to read made from the model root when it is needed.
 * One `ModelFile` object per file (two strings, boxed numbers) took about 250 bytes of heap a
 * file, 24 MiB on a model of 100,000 files, for the whole run.
 *
 * @module
 */

/** One file of the model. */
export interface ModelFile {
  /** Relative POSIX path inside the model; `.` for a single-file model. */
  name: string;
  /** Absolute path to read. */
  path: string;
  size: number;
  mtimeMs: number | null;
  /** Inode number (null where the file system reports none). */
  ino: number | null;
}

/**
 * Files by number. A file's path is `base + name` unless it was added with a path of its own
 * (a single-file model, or a name listed by a signature).
 */
export class FileList {
  /** Resource names, by file number. */
  readonly names: string[] = [];
  #sizes = new Float64Array(64);
  /** NaN where unknown. */
  #mtimes = new Float64Array(64);
  /** NaN where unknown. */
  #inos = new Float64Array(64);
  /** Paths that are not `base + name`, by file number. */
  #paths: Map<number, string> | undefined;
  readonly #base: string;

  /** @param root absolute, normalized directory the names are relative to */
  constructor(root: string) {
    this.#base = root.endsWith("/") ? root : root + "/";
  }

  /** A list of the given files, in their order. */
  static of(root: string, files: readonly ModelFile[]): FileList {
    const list = new FileList(root);
    for (const file of files) list.add(file.name, file.size, file.mtimeMs, file.ino, file.path);
    return list;
  }

  get length(): number {
    return this.names.length;
  }

  /** Adds a file; `path` only when it is not the root joined with `name`. */
  add(name: string, size: number, mtimeMs: number | null, ino: number | null, path?: string): void {
    const i = this.names.length;
    if (i === this.#sizes.length) this.#grow(2 * i);
    this.names.push(name);
    this.#sizes[i] = size;
    this.#mtimes[i] = mtimeMs ?? NaN;
    this.#inos[i] = ino ?? NaN;
    if (path !== undefined && path !== this.#base + name) (this.#paths ??= new Map()).set(i, path);
  }

  size(i: number): number {
    return this.#sizes[i]!;
  }

  mtimeMs(i: number): number | null {
    const value = this.#mtimes[i]!;
    return Number.isNaN(value) ? null : value;
  }

  ino(i: number): number | null {
    const value = this.#inos[i]!;
    return Number.isNaN(value) ? null : value;
  }

  /** The absolute path to read (made on each call: not kept per file). */
  path(i: number): string {
    return this.#paths?.get(i) ?? this.#base + this.names[i]!;
  }

  /** File `i` as an object of its own. */
  file(i: number): ModelFile {
    return {
      name: this.names[i]!,
      path: this.path(i),
      size: this.size(i),
      mtimeMs: this.mtimeMs(i),
      ino: this.ino(i),
    };
  }

  /** Every file as an object of its own, in order. */
  toArray(): ModelFile[] {
    return this.names.map((_, i) => this.file(i));
  }

  /** Renames file `i`; its path stays what it was. */
  rename(i: number, name: string): void {
    const path = this.path(i);
    this.names[i] = name;
    if (path !== this.#base + name) (this.#paths ??= new Map()).set(i, path);
    else this.#paths?.delete(i);
  }

  /** Total bytes of all files. */
  totalBytes(): number {
    let bytes = 0;
    for (let i = 0; i < this.length; i++) bytes += this.#sizes[i]!;
    return bytes;
  }

  /** Sorts the files by name in UTF-16 code unit order (`<`), as the walk lists them. */
  sortByName(): void {
    const names = this.names;
    const order = names.map((_, i) => i).sort((a, b) => {
      const x = names[a]!;
      const y = names[b]!;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const sizes = new Float64Array(this.#sizes.length);
    const mtimes = new Float64Array(this.#sizes.length);
    const inos = new Float64Array(this.#sizes.length);
    const sortedNames = order.map((i) => names[i]!);
    let paths: Map<number, string> | undefined;
    order.forEach((from, to) => {
      sizes[to] = this.#sizes[from]!;
      mtimes[to] = this.#mtimes[from]!;
      inos[to] = this.#inos[from]!;
      const path = this.#paths?.get(from);
      if (path !== undefined) (paths ??= new Map()).set(to, path);
    });
    for (let i = 0; i < sortedNames.length; i++) names[i] = sortedNames[i]!;
    this.#sizes = sizes;
    this.#mtimes = mtimes;
    this.#inos = inos;
    this.#paths = paths;
  }

  #grow(capacity: number): void {
    const grow = (from: Float64Array) => {
      const to = new Float64Array(capacity);
      to.set(from);
      return to;
    };
    this.#sizes = grow(this.#sizes);
    this.#mtimes = grow(this.#mtimes);
    this.#inos = grow(this.#inos);
  }
}
