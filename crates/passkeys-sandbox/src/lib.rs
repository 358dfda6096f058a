//! The sandbox: a local ZITADEL-compatible issuer.
