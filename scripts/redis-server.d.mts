/** Types of ./redis-server.mjs, for the TypeScript tests. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server with SIGKILL (what a crash does); `start()` brings it back on the same port, empty. */
  kill(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export declare function redisServerAvailable(): boolean;
export declare function startRedisServer(): Promise<RedisServer>;
