// AssemblyScript's `abort` (failed assertions, out-of-bounds access, `throw`) routed to the host's
// `fail`, so the module imports nothing outside "phala". asconfig.json names it:
//   "use": ["abort=~lib/phala-bridge/assembly/abort/phalaAbort"]
import * as host from "./host";

export function phalaAbort(
  message: string | null = null,
  fileName: string | null = null,
  line: u32 = 0,
  column: u32 = 0,
): void {
  let text = message !== null ? message : "abort";
  if (fileName !== null) text += " (" + fileName + ":" + line.toString() + ":" + column.toString() + ")";
  const bytes = String.UTF8.encode(text);
  host.fail(changetype<usize>(bytes), bytes.byteLength);
  unreachable();
}
