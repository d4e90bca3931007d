// The npm `solc` package ships no types; this is the part of its API the build uses.
declare module 'solc' {
  type ImportCallback = (path: string) => { contents: string } | { error: string };
  const solc: {
    compile(input: string, callbacks?: { import?: ImportCallback }): string;
    version(): string;
  };
  export default solc;
}
