// One jest run for every package and the cross-package suites. Sources are transformed by swc
// (TypeScript to CommonJS); jose and oidc-provider (the interop suite's authorization server) ship
// ESM only, so they are transformed too, which the transformIgnorePatterns below allow (pnpm keeps
// them under node_modules/.pnpm/<name>@x/node_modules/<name>).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?(jose|oidc-provider)/)'],
  moduleNameMapper: {
    '^@tokenward/(core|express|fastify|nest|redis)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 20000,
};
