//! Interop: WireGuard implementations nobody here wrote, wireguard-go and boringtun, talking
//! through tunnels between network namespaces, configured with the stock `wg` tool. Today they
//! check the harness (`tests/wg_peer`) and the foreign peers against each other; when ringtun
//! speaks WireGuard, the same checks run with ringtun on one end.
//!
//! Root tests are `#[ignore = "needs root"]` (`sudo ./scripts/test.sh` runs them); the tools come
//! from `scripts/setup.sh`, and a missing one fails the test naming that step.

mod wg_peer;

use wg_peer::*;

// ---------------------------------------------------------------------------------------------
// Harness checks that need no root
// ---------------------------------------------------------------------------------------------

/// The key tool derives public keys as X25519 does (RFC 7748 section 6.1, Alice).
#[test]
fn public_keys_match_rfc7748() {
    let alice = SecretKey::from_base64("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=").unwrap();
    assert_eq!(
        wg_peer::keys::public_key(&alice),
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
    );
    let bob = SecretKey::from_base64("XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os=").unwrap();
    assert_eq!(
        wg_peer::keys::public_key(&bob),
        "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
    );
    let (a, b) = (wg_peer::keys::keypair(), wg_peer::keys::keypair());
    assert_ne!(a.public, b.public);
    assert_eq!(wg_peer::keys::public_key(&a.private), a.public);
    assert_ne!(
        wg_peer::keys::preshared_key(),
        wg_peer::keys::preshared_key()
    );
}
