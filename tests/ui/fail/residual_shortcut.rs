// A `residual` block's `shortcut { … }` must produce what the block's layers produce; only
// a `residual` block has one, and it is never empty.
staticnn::model! {
    pub struct ShortcutTooNarrow {
        input(4, 8, 8),
        residual {
            conv2d(8, 3, stride = 2, padding = same), relu,
            conv2d(8, 3, padding = same),
        } shortcut {
            conv2d(4, 1, stride = 2),
        },
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct ShortcutKeepsSize {
        input(4, 8, 8),
        residual { conv2d(4, 3, stride = 2, padding = same) } shortcut { conv2d(4, 1) },
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct ShortcutOnConv {
        input(4, 8, 8),
        conv2d(4, 3, padding = 1) shortcut { conv2d(4, 1) },
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct EmptyShortcut {
        input(4, 8, 8),
        residual { conv2d(4, 3, padding = 1) } shortcut {},
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct FlatLayerInShortcut {
        input(4, 8, 8),
        residual { conv2d(4, 3, padding = 1) } shortcut { dense(4) },
        flatten,
        dense(2),
    }
}

fn main() {}
