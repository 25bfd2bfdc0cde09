//! The code blocks of a guide in Markdown that say where they run: a fence whose info string has `on=MACHINE`
//! after the language (`` ```sh on=worker service ``), which a viewer ignores. `tests/deploy_guide.rs` runs those
//! of docs/deploy.md, so that the guide's own commands are what is tested.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One marked block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The fence's language: `sh`, `nft`, ...
    pub lang: String,
    /// The machine it runs on (`on=`).
    pub on: String,
    /// Its other `key=value` words (`as=alice`, `file=/etc/nftables.conf`, `each=machine`).
    pub options: BTreeMap<String, String>,
    /// Its other words without a value (`service`).
    pub flags: Vec<String>,
    /// Its lines, without the fence's indentation.
    pub text: String,
    /// The 1-based line of its opening fence.
    pub line: usize,
}

impl Block {
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// Every block of `markdown` marked with `on=`, in order. Unmarked blocks (examples of output, commands that need
/// what a test cannot have, such as systemd) are left out.
pub fn marked_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let mut text = String::new();
        for (_, body) in lines.by_ref() {
            if body.trim_start().starts_with("```") {
                break;
            }
            let cut = body.len() - body.trim_start().len();
            text.push_str(&body[cut.min(indent)..]);
            text.push('\n');
        }
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("").to_string();
        let mut options = BTreeMap::new();
        let mut flags = Vec::new();
        for word in words {
            match word.split_once('=') {
                Some((key, value)) => {
                    options.insert(key.to_string(), value.to_string());
                }
                None => flags.push(word.to_string()),
            }
        }
        if let Some(on) = options.remove("on") {
            blocks.push(Block { lang, on, options, flags, text, line: number + 1 });
        }
    }
    blocks
}

#[test]
fn marked_blocks_are_found_with_their_options_and_unmarked_ones_are_not() {
    let guide = "# Guide\n\n```sh on=worker service\numask 0002\nrunuser -u x -- y\n```\n\n```\nok  output\n```\n\n- item:\n\n  ```sh on=admin as=alice\n  echo   hi\n  ```\n";
    let blocks = marked_blocks(guide);
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert_eq!(blocks[0].on, "worker");
    assert!(blocks[0].has("service"));
    assert_eq!(blocks[0].text, "umask 0002\nrunuser -u x -- y\n");
    assert_eq!(blocks[0].line, 3);
    assert_eq!(blocks[1].option("as"), Some("alice"));
    assert_eq!(blocks[1].text, "echo   hi\n");
}
