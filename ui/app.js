// @ts-check
// Passkey Enroll UI: loads the views (each registers itself with the router), fills the static
// text, and starts on the start page. Presentation only: every operation is one command in
// src-tauri/src (called through lib/ipc.js).
import { $, el } from './lib/dom.js';
import { STRINGS, applyStrings, t } from './lib/i18n.js';
import { call } from './lib/ipc.js';
import { escape, go } from './lib/router.js';
import { confirmOpen } from './components/confirm-dialog.js';
import { pinOpen } from './components/pin-dialog.js';
import './views/start.js';
import './views/signin.js';
import './views/passkeys.js';
import './views/wizard.js';
import './views/link.js';
import './views/diagnostics.js';
import './views/keys.js';

document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape' || confirmOpen() || pinOpen()) return;
  escape();
});

applyStrings(document);
document.title = t('app.title');
$('howto-steps').replaceChildren(...STRINGS.start.howToSteps.map((s) => el('li', { text: s })));
call('app_info').then((info) => {
  // The About line: version and where this program is installed.
  $('version').textContent = info.installedAt
    ? t('app.about', { version: info.version, path: info.installedAt })
    : t('app.version', { version: info.version });
}).catch(() => {});
go('start');
