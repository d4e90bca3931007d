import { createRequire } from 'node:module';
import path from 'node:path';
import { BaseError, type Retry } from './errors.js';

/**
 * A package the daemon does without but a feature needs (the devnet's Hardhat node, pretty
 * logs): it is an optional peer dependency, so `npm install phala-bridge` leaves it out and the
 * feature says how to add it.
 */
export class MissingOptionalPackageError extends BaseError {
  /** Installing the package fixes it. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'MissingOptionalPackageError';
  readonly packageName: string;
  readonly installCommand: string;
  constructor(parameters: { packageName: string; feature: string; installCommand: string }) {
    super(`${parameters.feature} needs the package "${parameters.packageName}", which is not installed.`, {
      details: `Install it beside phala-bridge: ${parameters.installCommand}`,
      docsPath: 'docs/testing.md#devnet-extras',
    });
    this.packageName = parameters.packageName;
    this.installCommand = parameters.installCommand;
  }
}

export type OptionalPackage = {
  /** The npm name, e.g. `hardhat`. */
  name: string;
  /** The feature that needs it, as a sentence subject ("The devnet's EVM node"). */
  feature: string;
  /** The one command that installs it. */
  installCommand: string;
};

/**
 * The directory `pkg` is installed in, resolved from this package's own place (so an
 * application's node_modules is searched as Node would), or a MissingOptionalPackageError with
 * the command that installs it.
 */
export function optionalPackageDirectory(pkg: OptionalPackage): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${pkg.name}/package.json`));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new MissingOptionalPackageError({
      packageName: pkg.name,
      feature: pkg.feature,
      installCommand: pkg.installCommand,
    });
  }
}

/** Whether `name` can be loaded from here (for features with a fallback, e.g. plain JSON logs). */
export function isPackageInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}
