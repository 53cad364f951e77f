#!/usr/bin/env python3
"""Verify one gpkg with Portage's own code (lib/portage/gpkg.py), the way
emerge does for a binrepo with verify-signature = true, against the
verification keyring GNUPG_HOME (what BINPKG_GPG_VERIFY_GPG_HOME names).

Usage: PORTAGE_SRC=... portage-verify.py GNUPG_HOME PACKAGE.gpkg.tar
Prints one JSON line {ok, error}; exit 0 only when Portage accepts it."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.environ["PORTAGE_TOOLS"])
import _pgharness as H  # noqa: E402


def main():
    home, path = sys.argv[1], sys.argv[2]
    portage = H.bootstrap(gnupg=False)
    from portage.gpkg import gpkg

    eprefix = tempfile.mkdtemp(prefix="pgv-")
    settings = portage.config(config_root=eprefix, target_root=eprefix, eprefix=eprefix)
    settings.unlock()
    settings["BINPKG_GPG_VERIFY_GPG_HOME"] = home
    # As emerge does when root: gpg runs as nobody:nogroup, so the keyring must be readable by them.
    settings["FEATURES"] = settings.get("FEATURES", "") + " binpkg-request-signature"
    settings.features.add("binpkg-request-signature")
    settings.lock()
    try:
        pkg = gpkg(settings, os.path.basename(path).split(".gpkg")[0], path, verify_signature=True)
        pkg._verify_binpkg()
        print(json.dumps({"ok": True, "error": None}))
        return 0
    except Exception as e:  # noqa: BLE001 - report Portage's refusal
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        return 1
    finally:
        H.cleanup_bootstrap()


if __name__ == "__main__":
    sys.exit(main())
