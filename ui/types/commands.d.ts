// The app's commands (src-tauri/build.rs COMMANDS, `generate_handler!` in src-tauri/src/lib.rs)
// with their arguments (camelCase, as Tauri maps them to the Rust parameters) and results.
// Hand-written over the generated DTOs (./ipc.d.ts); src-tauri/src/ipc_types.rs checks that it
// names exactly the commands in build.rs. `args: void` means the command takes none.
import type * as T from './ipc';

/** A Tauri channel carrying `T` messages (made by ui/lib/ipc.js `channel()`). */
export interface Channel<M> {
  readonly __message?: M;
  onmessage: (message: M) => void;
}

/** The arguments of command `K`: none, or one object. */
export type ArgsOf<K extends keyof Commands> = Commands[K]['args'] extends void ? [] : [args: Commands[K]['args']];

/** A typed `invoke`: `call('key_info', { key })` resolves to a KeyReport. */
export type Call = <K extends keyof Commands>(cmd: K, ...args: ArgsOf<K>) => Promise<Commands[K]['result']>;

export interface Commands {
  app_info: { args: void; result: T.AppInfo };
  list_profiles: { args: void; result: T.Profiles };
  add_profile: { args: { issuer: string; clientId: string; api?: T.ApiChoice; rpId?: string }; result: T.SessionInfo };
  open_profile: { args: { id: string }; result: T.SessionInfo };
  remove_profile: { args: { id: string }; result: T.Profiles };
  start_demo: { args: void; result: T.SessionInfo };
  close_instance: { args: void; result: null };
  sign_in: { args: { onUrl: Channel<string>; prompt: T.SignInPrompt | null }; result: null };
  cancel: { args: void; result: boolean };
  sign_out: { args: void; result: T.LogoutReport };
  me: { args: void; result: T.Me };
  list_passkeys: { args: void; result: T.Passkey[] };
  remove_passkey: { args: { id: string }; result: null };
  authenticators: { args: void; result: T.AuthenticatorChoice[] };
  suggest_name: { args: { authenticator: string }; result: string };
  add_passkey: {
    args: {
      authenticator: string;
      name: string | null;
      onEvent: Channel<T.EnrollEvent>;
      onPrompt: Channel<T.PromptEvent>;
    };
    result: T.Enrollment;
  };
  list_keys: { args: void; result: T.AuthenticatorChoice[] };
  answer_pin: { args: { pin: string | null }; result: null };
  add_passkey_via_link: { args: { onLink: Channel<T.LinkView> }; result: T.Passkey };
  registration_link: { args: void; result: T.LinkView };
  diagnostics: { args: void; result: string[] };
  passkey_api: { args: void; result: T.PasskeyApiView };
  device_access: { args: void; result: T.DeviceAccess[] };
  key_info: { args: { key: string }; result: T.KeyReport };
  key_set_pin: { args: { key: string; onPrompt: Channel<T.PromptEvent> }; result: null };
  key_change_pin: { args: { key: string; onPrompt: Channel<T.PromptEvent> }; result: null };
  key_credentials: { args: { key: string; onPrompt: Channel<T.PromptEvent> }; result: T.KeyCredentials };
  key_delete_credential: {
    args: { key: string; id: string; onPrompt: Channel<T.PromptEvent> };
    result: null;
  };
  key_delete_orphans: {
    args: { key: string; ids: string[]; onPrompt: Channel<T.PromptEvent> };
    result: string[];
  };
  key_fingerprints: { args: { key: string; onPrompt: Channel<T.PromptEvent> }; result: T.Fingerprint[] };
  key_enroll_fingerprint: {
    args: {
      key: string;
      name: string | null;
      onPrompt: Channel<T.PromptEvent>;
      onSample: Channel<T.Sample>;
    };
    result: T.Fingerprint;
  };
  key_rename_fingerprint: {
    args: { key: string; id: string; name: string; onPrompt: Channel<T.PromptEvent> };
    result: null;
  };
  key_remove_fingerprint: {
    args: { key: string; id: string; onPrompt: Channel<T.PromptEvent> };
    result: null;
  };
  key_reset: {
    args: {
      key: string;
      confirm: string;
      onPrompt: Channel<T.PromptEvent>;
      onStep: Channel<T.ResetStep>;
    };
    result: null;
  };
  key_wink: { args: { key: string }; result: null };
  key_forget: { args: void; result: boolean };
  key_set_always_uv: {
    args: { key: string; on: boolean; onPrompt: Channel<T.PromptEvent> };
    result: T.KeyReport;
  };
  key_set_min_pin_length: {
    args: { key: string; length: number; onPrompt: Channel<T.PromptEvent> };
    result: T.KeyReport;
  };
  list_known_passkeys: { args: void; result: T.KnownPasskeyView[] };
  which_passkey: { args: { id: string }; result: T.WhichView };
  test_passkey: { args: { id: string; onPrompt: Channel<T.PromptEvent> }; result: T.SelfTestOutcome };
  practice_watch: { args: { onStatus: Channel<T.PracticeStatus> }; result: T.PracticeStatus | null };
  practice_touch: { args: void; result: boolean };
  practice_plug: { args: { inserted: boolean }; result: T.PracticeStatus };
}
