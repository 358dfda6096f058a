// @ts-check
// The signed-in header: who is signed in, where, Switch instance and Sign out.
import { $, busy } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { call } from '../lib/ipc.js';
import { go } from '../lib/router.js';
import { session } from '../lib/session.js';
import { sessionLost } from '../views/signin.js';

/** Fills the header: the person (`me`) and the instance. */
export async function loadHeader() {
  try {
    const me = await call('me');
    $('who-name').textContent = me.displayName;
    $('who-login').textContent = me.loginName;
  } catch (e) {
    if (!sessionLost(e)) { $('who-name').textContent = ''; $('who-login').textContent = ''; }
  }
  $('who-instance').textContent = session.profile ? session.profile.issuer : '';
}

const signOut = /** @type {HTMLButtonElement} */ ($('btn-signout'));
signOut.addEventListener('click', () => busy(signOut, async () => {
  let report;
  try {
    report = await call('sign_out');
  } catch (e) {
    // Signed out locally even if revocation failed; show why on the sign-in page.
    go('signin', e);
    return;
  }
  // ZITADEL keeps the browser's session unless the browser came back from its logout page.
  const browserStillSignedIn = report && report.was_signed_in
    && (report.browser === 'unconfirmed' || report.browser === 'not_supported');
  go('signin', null, browserStillSignedIn ? t('signIn.otherHint') : '');
}));

$('btn-switch').addEventListener('click', async () => {
  await call('close_instance');
  go('start');
});
