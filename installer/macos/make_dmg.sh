#!/bin/bash
# Pack the macOS app into a disk image: build/installer/EMDenoise-<version>.dmg (unsigned).
#
#   pyinstaller --noconfirm --distpath build/installer/dist --workpath build/installer/work installer/emdenoise.spec
#   installer/macos/make_dmg.sh
#
# (.github/workflows/installers.yml runs both on a macOS runner; it cannot be run on the Linux build
# machine.) The spec's BUNDLE section makes dist/EMDenoise.app (document types TIFF and MRC, so Finder's
# "Open with" offers it); the image holds the app, a link to /Applications to drag it onto, and a
# READ ME saying how to open an unsigned app the first time. The app is not signed or notarised (no
# Apple developer certificate here): Gatekeeper refuses a double-click the first time; right-click
# (or Control-click) the app and choose Open, then Open again; after that it starts normally.
# To sign: codesign --deep --options runtime -s "Developer ID Application: ..." the .app, then notarise.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(python3 -c "import emdenoise_gui; print(emdenoise_gui.__version__)")
EDITION=${EDITION:-cpu}
APP=build/installer/dist/EMDenoise.app
[ -d "$APP" ] || { echo "error: $APP is missing: run PyInstaller with installer/emdenoise.spec first" >&2; exit 2; }
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
cat > "$STAGE/READ ME FIRST.txt" <<TEXT
EMDenoise $VERSION ($EDITION edition)

1. Drag EMDenoise onto Applications.
2. The first time: right-click (or Control-click) EMDenoise in Applications, choose Open, then Open
   again. macOS asks because this app is not signed by Apple; it asks only once.
3. The command line is inside the app: /Applications/EMDenoise.app/Contents/MacOS/emdenoise
   (try: .../emdenoise doctor, .../emdenoise --smoke-test).

Your models and settings are kept in ~/Library/Application Support/EMDenoise; deleting the app
leaves them there.
TEXT
SUFFIX=""; [ "$EDITION" = cpu ] || SUFFIX="-$EDITION"
OUT="build/installer/EMDenoise-$VERSION$SUFFIX.dmg"
rm -f "$OUT"
hdiutil create -volname "EMDenoise $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$OUT"
echo "wrote $OUT"
