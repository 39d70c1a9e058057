#!/bin/sh
# Install Jockey Desktop for the current user (no root needed), or remove it again.
#
#   ./install.sh              install (or upgrade) from the unpacked archive
#   ./install.sh --uninstall  remove the program, its menu entry, icons and command
#
# Installs the program into ${XDG_DATA_HOME:-~/.local/share}/jockey-desktop/app, the command
# ~/.local/bin/jockey-desktop, the menu entry into .../applications and icons into
# .../icons/hicolor. Every installed path is recorded, and --uninstall removes exactly those.
# Your conversations and settings are NOT in any of these places and are never touched here;
# they live in ~/.local/share/Jockey Desktop (see the README to remove them).
set -eu

APP_ID=jockey-desktop
EXE_NAME=JockeyDesktop
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
BIN_DIR=$HOME/.local/bin
PREFIX=$DATA_HOME/$APP_ID
APP_DIR=$PREFIX/app
MANIFEST=$PREFIX/installed-files
APPS_DIR=$DATA_HOME/applications
ICON_ROOT=$DATA_HOME/icons/hicolor
USER_DATA="$DATA_HOME/Jockey Desktop"

say() { printf '%s\n' "$*"; }

refresh_caches() {
    # Menus and icon themes pick up changes without these on most desktops; where the tools
    # exist, running them makes the change immediate. Failures are harmless.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database "$APPS_DIR" >/dev/null 2>&1 || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICON_ROOT/index.theme" ]; then
        gtk-update-icon-cache -f -t "$ICON_ROOT" >/dev/null 2>&1 || true
    fi
}

# Quote a path for a .desktop Exec= key: inside double quotes, backslash, double quote,
# backtick and dollar need a backslash, and the string escaping doubles every backslash.
desktop_quote() {
    printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g')"
}

uninstall() {
    if [ ! -f "$MANIFEST" ] && [ ! -d "$APP_DIR" ]; then
        say "Jockey Desktop is not installed in $PREFIX."
        return 0
    fi
    if [ -f "$MANIFEST" ]; then
        while IFS= read -r path; do
            [ -n "$path" ] || continue
            if [ -L "$path" ] || [ -f "$path" ]; then
                rm -f -- "$path"
            fi
            case "$path" in
                # Icon folders we may have created (.../hicolor/48x48/apps): drop them when
                # empty. rmdir never removes a folder that still holds anything.
                "$ICON_ROOT"/*)
                    rmdir -- "$(dirname -- "$path")" 2>/dev/null || true
                    rmdir -- "$(dirname -- "$(dirname -- "$path")")" 2>/dev/null || true ;;
            esac
        done < "$MANIFEST"
        rm -f -- "$MANIFEST"
    fi
    rm -rf -- "$APP_DIR"
    rmdir -- "$PREFIX" 2>/dev/null || true
    refresh_caches
    say "Jockey Desktop was removed."
    say "Your conversations and settings were kept in: $USER_DATA"
    say "To delete them too: rm -rf \"$USER_DATA\"  (the API key is in your system keyring"
    say "under the service 'jockey-desktop'; remove it with your keyring manager)."
}

install() {
    if [ ! -x "$HERE/$EXE_NAME/$EXE_NAME" ]; then
        say "error: $HERE/$EXE_NAME/$EXE_NAME not found; run install.sh from the unpacked archive." >&2
        exit 1
    fi
    mkdir -p "$PREFIX" "$BIN_DIR" "$APPS_DIR"
    # Copy next to the old version first, then swap: an interrupted upgrade never leaves a
    # half-copied app behind the menu entry.
    rm -rf -- "$APP_DIR.new"
    cp -R -- "$HERE/$EXE_NAME" "$APP_DIR.new"
    rm -rf -- "$APP_DIR"
    mkdir -p "$APP_DIR"
    mv -- "$APP_DIR.new" "$APP_DIR/$EXE_NAME"
    exe="$APP_DIR/$EXE_NAME/$EXE_NAME"

    : > "$MANIFEST.tmp"
    ln -sfn -- "$exe" "$BIN_DIR/$APP_ID"
    printf '%s\n' "$BIN_DIR/$APP_ID" >> "$MANIFEST.tmp"

    desktop="$APPS_DIR/$APP_ID.desktop"
    exec_value=$(desktop_quote "$exe")
    # Replace the whole Exec= line; awk avoids sed's own escaping of the replacement.
    awk -v line="Exec=$exec_value" '/^Exec=/ { print line; next } { print }' \
        "$HERE/$APP_ID.desktop" > "$desktop.tmp"
    mv -- "$desktop.tmp" "$desktop"
    chmod 0644 "$desktop"
    printf '%s\n' "$desktop" >> "$MANIFEST.tmp"

    for dir in "$HERE"/icons/*; do
        [ -d "$dir" ] || continue
        size=$(basename -- "$dir")
        for icon in "$dir"/*; do
            [ -f "$icon" ] || continue
            target="$ICON_ROOT/$size/apps/$(basename -- "$icon")"
            mkdir -p "$(dirname -- "$target")"
            cp -- "$icon" "$target"
            printf '%s\n' "$target" >> "$MANIFEST.tmp"
        done
    done
    # Keep a copy of this script with the app, so uninstalling works after the unpacked
    # archive is gone.
    if [ "$HERE/install.sh" != "$PREFIX/install.sh" ]; then
        cp -- "$HERE/install.sh" "$PREFIX/install.sh"
        chmod 0755 "$PREFIX/install.sh"
    fi
    printf '%s\n' "$PREFIX/install.sh" >> "$MANIFEST.tmp"
    mv -- "$MANIFEST.tmp" "$MANIFEST"
    refresh_caches

    say "Jockey Desktop is installed: $exe"
    say "Start it from your applications menu, or run: $APP_ID"
    case ":$PATH:" in
        *":$BIN_DIR:"*) ;;
        *) say "(Add $BIN_DIR to your PATH to start it by name from a terminal.)" ;;
    esac
    say "To remove it: \"$PREFIX/install.sh\" --uninstall  (your conversations are kept)"
}

case "${1:-}" in
    "") install ;;
    --uninstall) uninstall ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) say "usage: $0 [--uninstall]" >&2; exit 2 ;;
esac
