// @ts-check
// Another device: a registration link (and its QR code) to open on a phone or another
// computer; the list is watched so the new passkey is announced when it arrives.
import { $, $input, copyText, svgDataUrl } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { call } from '../lib/ipc.js';
import { go, register, showSection } from '../lib/router.js';
import { session } from '../lib/session.js';
import { clearError, showError } from '../components/error-box.js';
import { stateOf } from './passkeys.js';
import { sessionLost } from './signin.js';

/** @type {ReturnType<typeof setTimeout> | null} */
let watch = null;

async function enter() {
  showSection('link');
  $('link-box').hidden = true;
  clearError($('link-error'));
  $('link-loading').textContent = t('link.loading');
  $('link-copy-status').textContent = '';
  let link;
  try {
    link = await call('registration_link');
  } catch (e) {
    $('link-loading').textContent = '';
    if (!sessionLost(e)) showError($('link-error'), e);
    return;
  }
  $('link-loading').textContent = '';
  /** @type {HTMLImageElement} */ ($('link-qr')).src = svgDataUrl(link.qrSvg);
  $input('link-url').value = link.link;
  const secs = link.expiresInSecs;
  $('link-expiry').textContent = secs == null ? ''
    : (secs < 60 ? t('link.expiresSoon') : t('link.expiresIn', { minutes: Math.floor(secs / 60) }));
  $('link-box').hidden = false;
  startWatch();
}

function startWatch() {
  stopWatch();
  const known = new Set(session.passkeys.map((p) => p.id));
  $('link-watch').textContent = t('link.watching');
  const tick = async () => {
    try {
      const now = await call('list_passkeys');
      const fresh = now.find((p) => !known.has(p.id) && stateOf(p) === 'ready');
      if (fresh) {
        session.passkeys = now;
        $('link-watch').textContent = t('link.arrived', { name: fresh.name || t('passkeys.unnamed') });
        now.forEach((p) => known.add(p.id));
      }
    } catch (_) { /* keep watching; errors show when the person goes back */ }
    if (watch !== null) watch = setTimeout(tick, 3000);
  };
  watch = setTimeout(tick, 3000);
}

function stopWatch() {
  if (watch !== null) clearTimeout(watch);
  watch = null;
}

$('btn-copy-link').addEventListener('click', async () => {
  const ok = await copyText($input('link-url'));
  $('link-copy-status').textContent = t(ok ? 'link.copied' : 'link.copyFailed');
});
$('btn-link-done').addEventListener('click', () => go('passkeys'));

register('link', { enter, leave: stopWatch, escape: () => go('passkeys') });
