// The greeter in AssemblyScript: the same behaviour as the devnet's JavaScript greeter
// (src/devnet/orchestrator/contracts.ts). A request's input is a name; the public output greets it,
// the sealed output tells the requester how many greetings this contract has given and from where.
import { Context, JsonObject, inputString, originKindName, output, reply, state } from "../../assembly/index";

function count(): i64 {
  const stored = state.getString("count");
  return stored === null ? 0 : i64.parse(stored);
}

export function handle(): void {
  const name = inputString();
  const greeting = count() + 1;
  state.set("count", greeting.toString());
  const sealed = new JsonObject()
    .int("greeting", greeting)
    .string("origin", originKindName(Context.originKind))
    .string("secret", "only you can read this");
  output("hello, " + name + "!", sealed.toString());
}

export function query(): void {
  reply(new JsonObject().int("count", count()).toString());
}
