// One jest run for every package and the cross-package suites. Sources are transformed by swc
// (TypeScript to CommonJS); jose ships ESM only, so it is transformed too, which the
// transformIgnorePatterns below allow (pnpm keeps it under node_modules/.pnpm/jose@x/node_modules/jose).
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
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?(jose)/)'],
  moduleNameMapper: {
    '^@tokenward/(core|express|fastify|nest)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 20000,
};
