# Copyright 2026 binswarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit systemd

DESCRIPTION="Peer-to-peer Gentoo binary packages, trusted when independent builders agree"
HOMEPAGE="https://github.com/binswarm/binswarm"
# The release tarball carries dist/ and node_modules/ (npm ci --omit=dev),
# so nothing is downloaded at build or run time.
SRC_URI="https://github.com/binswarm/binswarm/releases/download/v${PV}/${P}-bundled.tar.xz"

LICENSE="GPL-2+ MIT BSD ISC Apache-2.0"
SLOT="0"
KEYWORDS="~amd64 ~arm64"
RESTRICT="test"

RDEPEND="
	>=net-libs/nodejs-20
	acct-group/binswarm
	acct-user/binswarm
	app-arch/zstd
	app-arch/xz-utils
	app-arch/bzip2
	app-crypt/gnupg
"

src_compile() {
	# Prebuilt: dist/ is plain JavaScript; better-sqlite3 ships its addon for this ABI.
	:
}

src_install() {
	insinto /usr/lib/binswarm
	doins -r dist node_modules package.json
	dosym ../lib/binswarm/dist/src/cli/main.js /usr/bin/binswarm
	fperms +x /usr/lib/binswarm/dist/src/cli/main.js

	insinto /etc/binswarm
	newins contrib/binswarm.toml binswarm.toml

	newinitd contrib/openrc/binswarm.initd binswarm
	newconfd contrib/openrc/binswarm.confd binswarm
	systemd_dounit contrib/systemd/binswarm.service

	keepdir /var/lib/binswarm /var/log/binswarm
	fowners binswarm:binswarm /var/lib/binswarm /var/log/binswarm
	fperms 0750 /var/lib/binswarm /var/log/binswarm

	dodoc README.md
}

pkg_postinst() {
	elog "A node only consumes by default. Next steps:"
	elog "  binswarm keygen --out /var/lib/binswarm/node.key"
	elog "  edit /etc/binswarm/binswarm.toml and /etc/binswarm/policy.toml"
	elog "  binswarm setup-portage --gateway http://127.0.0.1:7680 --gateway-data /var/lib/binswarm/gateway"
	elog "  rc-service binswarm start   (or: systemctl enable --now binswarm)"
}
