# Copyright 2026 binswarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="Greeting program linked against libdemo (binswarm example)"
HOMEPAGE="https://example.invalid/hello-demo"
S="${WORKDIR}/${P}"

LICENSE="GPL-2"
SLOT="0"
KEYWORDS="amd64 arm64 x86"
IUSE="debug +nls"

DEPEND="dev-libs/libdemo:="
RDEPEND="${DEPEND}"

src_unpack() {
	mkdir -p "${S}" || die
	cp "${FILESDIR}/hello-demo.c" "${FILESDIR}/greetings.txt" "${S}/" || die
}

src_compile() {
	local defs=()
	use nls && defs+=( -DHELLO_NLS )
	use debug && defs+=( -DHELLO_DEBUG -g )
	${CC:-cc} ${CFLAGS} "${defs[@]}" -I"${ESYSROOT}/usr/include" ${LDFLAGS} \
		-o hello-demo hello-demo.c -L"${ESYSROOT}/usr/$(get_libdir)" -ldemo || die
}

src_install() {
	dobin hello-demo
	if use nls; then
		insinto /usr/share/hello-demo
		doins greetings.txt
	fi
}
