/** What a CLI command reads and writes: its own file, so commands need not import cli.ts. */
export interface CliIo {
  /** The only environment the program reads (SPEC §2). */
  env: {
    HOMELAB_HEALER_CONFIG?: string | undefined;
    CREDENTIALS_DIRECTORY?: string | undefined;
    PATH: string;
  };
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}
