/** TCB statuses as Intel's QVL reports them (TCB info, QE identity and TDX module levels merged). */
export const tcbStatuses = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof tcbStatuses)[number];
/** Statuses a policy may accept; `Revoked` never can be. */
export const acceptableTcbStatuses = tcbStatuses.filter((s) => s !== 'Revoked') as Exclude<
  TcbStatus,
  'Revoked'
>[];
