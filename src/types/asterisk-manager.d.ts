/** asterisk-manager 0.2.0 ships no types; this is the part agentgate uses (see REFERENCE.md for its quirks). */
declare module 'asterisk-manager' {
  import { EventEmitter } from 'node:events';
  class AsteriskManager extends EventEmitter {
    constructor(port: number | string, host: string, username: string, password: string, events?: boolean);
    action(action: Record<string, string>, callback?: (err: unknown, res: Record<string, string>) => void): string;
    keepConnected(): void;
    connect(port: number | string, host: string, callback?: () => void): void;
    disconnect(callback?: () => void): void;
    isConnected(): boolean;
    connected: boolean;
  }
  export = AsteriskManager;
}
