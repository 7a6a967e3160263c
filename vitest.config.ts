import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        // The AWS profile's tests share one set of local AWS servers (DynamoDB Local or dynalite, fauxqs), started
        // only when one of them runs.
        test: { name: 'aws', include: ['test/aws/**/*.test.ts'], globalSetup: ['test/aws/local-aws.ts'] },
      },
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts', 'src/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/aws/**'] } },
    ],
  },
});
