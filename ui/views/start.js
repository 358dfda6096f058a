// @ts-check
// Start: the saved instances, adding one (issuer + client id), and the demo.
import { $, $input, busy, el } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { call } from '../lib/ipc.js';
import { go, register, showSection } from '../lib/router.js';
import { session } from '../lib/session.js';
import { clearError, showError } from '../components/error-box.js';

/** @typedef {import('../types/ipc').Profiles} Profiles */
/** @typedef {import('../types/ipc').SessionInfo} SessionInfo */

async function enter() {
  session.profile = null;
  clearError($('instance-error'));
  clearError($('demo-error'));
  $('instance-status').textContent = '';
  $('demo-status').textContent = '';
  showSection('start');
  try {
    const info = await call('app_info');
    $('form-instance').hidden = !info.canSaveInstances;
    renderInstances(await call('list_profiles'));
  } catch (e) {
    showError($('instance-error'), e);
  }
}

/** @param {Profiles} saved */
function renderInstances(saved) {
  const list = $('instance-list');
  list.replaceChildren();
  const profiles = saved.profiles || [];
  $('saved').hidden = profiles.length === 0;
  profiles.forEach((p) => {
    const last = p.id === saved.lastUsed;
    const open = el('button', {
      type: 'button', class: last ? 'primary' : '', text: t('start.open'),
      'aria-label': t('start.openLabel', { issuer: p.issuer }),
      onclick: () => busy(open, () => openInstance(p.id)),
    });
    const forget = el('button', {
      type: 'button', class: 'quiet', text: t('start.forget'),
      'aria-label': t('start.forgetLabel', { issuer: p.issuer }),
      onclick: async () => {
        try { renderInstances(await call('remove_profile', { id: p.id })); } catch (e) { showError($('instance-error'), e); }
      },
    });
    list.append(el('li', { class: 'row', dataset: { id: p.id } },
      el('div', { class: 'grow' },
        el('div', { class: 'strong', text: p.issuer }),
        el('div', { class: 'muted small', text: `${p.clientId}${last ? ` · ${t('start.lastUsed')}` : ''}` })),
      open, forget));
  });
}

/** @param {string} id */
async function openInstance(id) {
  clearError($('instance-error'));
  try {
    afterInstance(await call('open_profile', { id }));
  } catch (e) {
    showError($('instance-error'), e);
  }
}

/** @param {SessionInfo} info */
function afterInstance(info) {
  session.profile = info.profile;
  if (info.signedIn) go('passkeys');
  else go('signin');
}

$('form-instance').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const issuer = $input('issuer').value.trim();
  const clientId = $input('client-id').value.trim();
  clearError($('instance-error'));
  if (!issuer) { showError($('instance-error'), { code: 'invalid_issuer' }); $('issuer').focus(); return; }
  if (!clientId) { showError($('instance-error'), { code: 'missing_client_id' }); $('client-id').focus(); return; }
  const button = /** @type {HTMLButtonElement} */ ($('btn-check'));
  busy(button, async () => {
    $('instance-status').textContent = t('start.checking');
    try {
      const api = /** @type {HTMLSelectElement} */ ($('api')).value;
      const rpId = $input('rp-id').value.trim();
      /** @type {{ issuer: string, clientId: string, api?: import('../types/ipc').ApiChoice, rpId?: string }} */
      const args = { issuer, clientId };
      if (api !== 'auto') args.api = /** @type {import('../types/ipc').ApiChoice} */ (api);
      if (rpId) args.rpId = rpId;
      afterInstance(await call('add_profile', args));
    } catch (e) {
      showError($('instance-error'), e);
    } finally {
      $('instance-status').textContent = '';
    }
  });
});

const demoButton = /** @type {HTMLButtonElement} */ ($('btn-demo'));
demoButton.addEventListener('click', () => busy(demoButton, async () => {
  clearError($('demo-error'));
  $('demo-status').textContent = t('start.demoStarting');
  try {
    afterInstance(await call('start_demo'));
  } catch (e) {
    showError($('demo-error'), e);
  } finally {
    $('demo-status').textContent = '';
  }
}));

register('start', { enter, leave() {} });
