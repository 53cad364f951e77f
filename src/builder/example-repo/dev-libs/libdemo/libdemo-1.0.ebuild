# Copyright 2026 binswarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="Tiny demo C library with a versioned ABI (binswarm example)"
HOMEPAGE="https://example.invalid/libdemo"
S="${WORKDIR}/${P}"

LICENSE="MIT"
SLOT="0/1"
KEYWORDS="amd64 arm64 x86"
IUSE="+static-libs"

src_unpack() {
	mkdir -p "${S}" || die
	cp "${FILESDIR}/demo.c" "${FILESDIR}/demo.h" "${S}/" || die
}

src_compile() {
	${CC:-cc} ${CFLAGS} -fPIC -c demo.c -o demo.o || die
	${CC:-cc} ${CFLAGS} ${LDFLAGS} -shared -Wl,-soname,libdemo.so.1 \
		-o libdemo.so.1.0.0 demo.o || die
	if use static-libs; then
		${AR:-ar} rcsD libdemo.a demo.o || die
	fi
}

src_install() {
	dolib.so libdemo.so.1.0.0
	# Absolute targets: Portage rewrites them when it relocates the package
	# into a Prefix (chpathtool), whereas relative ones would get the prefix
	# glued to their front when the build prefix is empty.
	dosym "/usr/$(get_libdir)/libdemo.so.1.0.0" "/usr/$(get_libdir)/libdemo.so.1"
	dosym "/usr/$(get_libdir)/libdemo.so.1" "/usr/$(get_libdir)/libdemo.so"
	use static-libs && dolib.a libdemo.a
	doheader demo.h
}
