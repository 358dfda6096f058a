// @ts-check
// Sign-in: the system browser opens the instance's login page; the URL is shown to copy when
// no browser opens. After `mfa_required` the next sign-in asks for the credentials again
// (`prompt=login`), so the person can use their second factor.
import { $, $input, copyText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { call, cancelRunning, channel, hasCode, isSessionError } from '../lib/ipc.js';
import { go, register, showSection } from '../lib/router.js';
import { session } from '../lib/session.js';
import { clearError, showError, showText } from '../components/error-box.js';

/** @typedef {import('../types/ipc').SignInPrompt} SignInPrompt */

/** @type {SignInPrompt | null} */
let nextPrompt = null;

function profile() {
  if (!session.profile) throw new Error('no instance is open');
  return session.profile;
}

/**
 * Shows the sign-in page. `note` is a plain sentence under the buttons (e.g. after sign-out,
 * when the browser may still be signed in).
 * @param {unknown} [error] why the person is here (e.g. the session expired)
 * @param {string} [note]
 */
function enter(error, note) {
  const demo = profile().demo;
  $('signin-instance').textContent = t('signIn.instance', { issuer: profile().issuer });
  $('btn-signin').textContent = t(demo ? 'signIn.demoButton' : 'signIn.button');
  $('btn-signin').hidden = false;
  $('btn-signin-other').hidden = demo;
  $('signin-waiting').hidden = true;
  $('signin-note').textContent = note || '';
  $('signin-note').hidden = !note;
  nextPrompt = hasCode(error, 'mfa_required') ? 'login' : null;
  clearError($('signin-error'));
  if (error) showError($('signin-error'), error);
  showSection('signin');
}

/** @param {SignInPrompt | null} prompt */
async function signIn(prompt) {
  const demo = profile().demo;
  clearError($('signin-error'));
  $('signin-note').hidden = true;
  $('btn-signin').hidden = true;
  $('btn-signin-other').hidden = true;
  $('signin-waiting').hidden = false;
  $('signin-url-box').hidden = true;
  $('signin-waiting-text').textContent = t(demo ? 'signIn.demoWaiting' : 'signIn.waiting');
  $('btn-signin-cancel').focus();
  const onUrl = channel((/** @type {string} */ url) => {
    if (demo) return;
    $input('signin-url').value = url;
    $('signin-url-box').hidden = false;
  });
  try {
    await call('sign_in', { onUrl, prompt });
    await go('passkeys');
  } catch (e) {
    $('btn-signin').hidden = false;
    $('btn-signin-other').hidden = demo;
    $('signin-waiting').hidden = true;
    if (hasCode(e, 'cancelled')) showText($('signin-error'), t('signIn.cancelled'), { plain: true });
    else showError($('signin-error'), e);
    $('btn-signin').focus();
  }
}

$('btn-signin').addEventListener('click', () => signIn(nextPrompt));
$('btn-signin-other').addEventListener('click', () => signIn('select_account'));
$('btn-signin-cancel').addEventListener('click', () => cancelRunning());
$('btn-copy-signin-url').addEventListener('click', () => copyText($input('signin-url')));
$('btn-signin-back').addEventListener('click', async () => {
  await call('cancel');
  await call('close_instance');
  go('start');
});

register('signin', { enter, leave() {} });

/**
 * Sends the person back to sign-in when the session is gone. Returns true if it did.
 * @param {unknown} e
 */
export function sessionLost(e) {
  if (isSessionError(e)) {
    go('signin', e);
    return true;
  }
  return false;
}
