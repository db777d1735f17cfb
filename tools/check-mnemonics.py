#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# tools/check-mnemonics.py UI...: fails (exit 1) when two mnemonics of one window or menu
# in the GtkBuilder files take the same Alt+letter.  GTK then cycles the focus between the
# two instead of activating either: the Fine-tune dialog's "On a _Slurm cluster" took Alt+S
# from "_Start", "Job _folder" Alt+F from "Add Case _Folder…" and "On this _computer" Alt+C
# from "_Close" (test-e2e-input-loop could not start a fine-tune by keyboard any more).
#
# Scopes, as GTK 4 resolves mnemonics: a window (an <object> or <template> of a window
# class, or a GtkPopover: each is a root with its own mnemonics) holds the labels with
# use-underline inside it down to the next window; a <menu> used as a menu bar adds its
# submenu titles to the scope of the file's first window (the Segmentation menu's Alt+S
# clashed with a panel's "_Sequence" that way); each submenu's items are a scope of
# their own.
import sys
import xml.etree.ElementTree as ET

ROOTS = ('GtkWindow', 'GtkDialog', 'GtkApplicationWindow', 'GtkPopover', 'GtkAboutDialog',
         'GtkShortcutsWindow')
TRUE = ('true', 'yes', '1', 't', 'y')


def mnemonic(text):
    i = 0
    while i < len(text) - 1:
        if text[i] == '_':
            if text[i + 1] == '_':
                i += 2
                continue
            return text[i + 1].lower()
        i += 1
    return None


def is_root(el):
    cls = el.get('class', '')
    parent = el.get('parent', '')
    return (el.tag in ('object', 'template')
            and (cls in ROOTS or parent in ROOTS or cls.endswith('Dialog')
                 or cls.endswith('Window')))


def props(el):
    out = {}
    for p in el.findall('property'):
        out[p.get('name').replace('_', '-')] = (p.text or '')
    return out


def widget_scopes(root_el, scopes, name):
    """Mnemonics of root_el's widgets, not descending into other roots."""
    scope = scopes.setdefault(name, [])

    def walk(el):
        for child in el:
            if child.tag == 'menu':
                continue
            if child.tag in ('object', 'template') and is_root(child) and child is not root_el:
                widget_scopes(child, scopes, '%s > %s' % (
                    name, child.get('id') or child.get('class')))
                continue
            if child.tag == 'object':
                p = props(child)
                if p.get('use-underline', '').lower() in TRUE:
                    for key in ('label', 'title'):
                        m = mnemonic(p.get(key, ''))
                        if m:
                            scope.append((m, p[key], child.get('id') or child.get('class')))
            walk(child)

    walk(root_el)


def menu_scopes(menu, scopes, bar_scope):
    def items_of(el):
        for child in el:
            if child.tag == 'section':
                yield from items_of(child)
            elif child.tag in ('item', 'submenu'):
                yield child

    def label_of(el):
        for a in el.findall('attribute'):
            if a.get('name') == 'label':
                return a.text or ''
        return ''

    def walk(el, scope_name):
        scope = scopes.setdefault(scope_name, [])
        for it in items_of(el):
            text = label_of(it)
            m = mnemonic(text)
            if m:
                scope.append((m, text, it.tag))
            if it.tag == 'submenu':
                walk(it, '%s > %s' % (scope_name, text.replace('_', '')))

    menu_id = menu.get('id')
    # A menu bar's titles share the window's scope; their items are one scope each.
    if bar_scope is not None:
        for it in items_of(menu):
            text = label_of(it)
            m = mnemonic(text)
            if m:
                scopes.setdefault(bar_scope, []).append((m, text, 'menu ' + menu_id))
            if it.tag == 'submenu':
                walk(it, 'menu %s > %s' % (menu_id, text.replace('_', '')))
    else:
        walk(menu, 'menu ' + menu_id)


def check(path):
    tree = ET.parse(path)
    top = tree.getroot()
    scopes = {}
    first_root = None
    for el in top:
        if el.tag in ('object', 'template'):
            name = el.get('id') or el.get('class')
            if first_root is None and is_root(el):
                first_root = name
            widget_scopes(el, scopes, name)
    bars = set()
    for el in top.iter('object'):
        if el.get('class') == 'GtkPopoverMenuBar':
            model = props(el).get('menu-model')
            if model:
                bars.add(model.strip())
    for menu in top.findall('menu'):
        bar = first_root if menu.get('id') in bars else None
        menu_scopes(menu, scopes, bar)
    bad = 0
    for name, entries in scopes.items():
        seen = {}
        for m, text, who in entries:
            if m in seen:
                print('%s: %s: Alt+%s is taken twice: "%s" (%s) and "%s" (%s)'
                      % (path, name, m.upper(), seen[m][0], seen[m][1], text, who))
                bad += 1
            else:
                seen[m] = (text, who)
    return bad


def main(argv):
    if len(argv) < 2:
        print('usage: check-mnemonics.py UI...', file=sys.stderr)
        return 2
    bad = 0
    for path in argv[1:]:
        try:
            bad += check(path)
        except (OSError, ET.ParseError) as e:
            print('%s: %s' % (path, e), file=sys.stderr)
            return 1
    print('%d clash(es) in %d file(s)' % (bad, len(argv) - 1))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
