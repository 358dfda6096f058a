// @ts-check
// Diagnostics: the app's recent log (tokens, codes and PINs never reach it), to copy into a
// support request. Back returns to the view it was opened from.
import { $, $input, copyText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { call, describe } from '../lib/ipc.js';
import { SIGNED_IN_VIEWS, go, previousView, register, resume, showSection } from '../lib/router.js';

/** @type {import('../lib/router.js').ViewName} */
let before = 'start';

async function enter() {
  const from = previousView();
  if (from && from !== 'diagnostics') before = from;
  const lines = await call('diagnostics').catch((e) => [describe(e).detail]);
  $input('diag-log').value = lines.length ? lines.join('\n') : t('diagnostics.empty');
  $('diag-status').textContent = '';
  showSection('diagnostics');
  // Keep the header of a signed-in view visible behind the log.
  $('app-header').hidden = !SIGNED_IN_VIEWS.includes(before);
}

function back() {
  if (before === 'passkeys' || before === 'link') go('passkeys');
  else resume(before);
}

$('btn-diagnostics').addEventListener('click', () => go('diagnostics'));
$('btn-diag-copy').addEventListener('click', async () => {
  const ok = await copyText($input('diag-log'));
  $('diag-status').textContent = t(ok ? 'diagnostics.copied' : 'link.copyFailed');
});
$('btn-diag-back').addEventListener('click', back);

register('diagnostics', { enter, leave() {}, escape: back });
