/** Types of ./store.js for the tests. */
export declare const STATE_VERSION: number;
export declare class JsonFileStore {
  constructor(file: string);
  readonly file: string;
  load(): unknown;
  save(state: unknown): void;
}
