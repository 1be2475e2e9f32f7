// Types for binary files imported with `with { type: "file" }`: Bun gives their path (inside the executable when compiled).
declare module "*.bin" {
  const path: string;
  export default path;
}
