//! The DOCTYPE a project may have. MLT's own demo files and projects with inline SVG declare entities in an
//! internal subset (`<!DOCTYPE mlt SYSTEM "mlt-xml.dtd" [ <!ENTITY name "mlt"> ]>`), and melt expands them, so a
//! DOCTYPE with plain internal entity declarations is accepted. What could read other files or blow up in memory
//! is refused before roxmltree sees the document: external entities (`SYSTEM`/`PUBLIC`), parameter entities
//! (`%name;`), any other declaration, and entities whose expansion passes [`MAX_EXPANDED_BYTES`] (billion laughs).
//! An external DTD named by the DOCTYPE itself is never read (neither melt nor roxmltree loads it).

use std::collections::HashMap;

/// Most bytes the document's entity references may expand to, all together.
pub const MAX_EXPANDED_BYTES: u64 = 4 * 1024 * 1024;
/// Most entities one internal subset may declare.
pub const MAX_ENTITIES: usize = 1024;
/// Deepest nesting of entities within entities.
pub const MAX_ENTITY_DEPTH: usize = 8;

/// Checks the DOCTYPE of `xml`, if it has one: `Err` says why it is refused.
pub fn check(xml: &str) -> Result<(), String> {
    let Some((declared, body)) = doctype(xml)? else {
        return Ok(());
    };
    let entities: Entities<'_> = declared.iter().copied().collect();
    let mut sizes = HashMap::new();
    for (name, _) in &declared {
        expanded_size(name, &entities, &mut sizes, &mut Vec::new())?;
    }
    let mut total: u64 = 0;
    for name in references(body) {
        if let Some(size) = sizes.get(name) {
            total = total.saturating_add(size.bytes);
            if total > MAX_EXPANDED_BYTES {
                return Err(format!("its entities would expand to more than {MAX_EXPANDED_BYTES} bytes"));
            }
        }
    }
    Ok(())
}

/// Declared entities by name, each with its value as written.
type Entities<'a> = HashMap<&'a str, &'a str>;

/// Declared entities (name, value) in the order of the DOCTYPE.
type Declared<'a> = Vec<(&'a str, &'a str)>;

/// The entities declared by the DOCTYPE (name and value, in order), and the document after it; `None` without a
/// DOCTYPE.
fn doctype(xml: &str) -> Result<Option<(Declared<'_>, &str)>, String> {
    let mut rest = xml.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>").map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    let Some(after) = rest.strip_prefix("<!DOCTYPE") else {
        return Ok(None);
    };
    // The name and the external id (never read) up to the internal subset or the end of the DOCTYPE.
    let mut text = after;
    loop {
        text = text.trim_start();
        match text.chars().next() {
            None => return Err("the DOCTYPE is not closed".into()),
            Some('>') => return Ok(Some((Vec::new(), &text[1..]))),
            Some('[') => break,
            Some(q @ ('"' | '\'')) => text = quoted(text, q)?.1,
            Some(_) => text = text.trim_start_matches(|c: char| !c.is_whitespace() && !"[>\"'".contains(c)),
        }
    }
    let mut subset = &text[1..];
    let mut entities = Vec::new();
    loop {
        subset = subset.trim_start();
        if let Some(after) = subset.strip_prefix(']') {
            let after = after.trim_start();
            let body = after.strip_prefix('>').ok_or("the DOCTYPE is not closed after its internal subset")?;
            return Ok(Some((entities, body)));
        } else if let Some(after) = subset.strip_prefix("<!--") {
            subset = after.split_once("-->").map(|(_, r)| r).ok_or("a comment in the DOCTYPE is not closed")?;
        } else if let Some(after) = subset.strip_prefix("<!ENTITY") {
            let (name, value, after) = entity(after)?;
            if entities.len() == MAX_ENTITIES {
                return Err(format!("it declares more than {MAX_ENTITIES} entities"));
            }
            entities.push((name, value));
            subset = after;
        } else if subset.starts_with('%') {
            return Err("it uses a parameter entity".into());
        } else if subset.is_empty() {
            return Err("the DOCTYPE is not closed".into());
        } else {
            let what: String = subset.chars().take(12).collect();
            return Err(format!("its internal subset may only declare entities, not {what:?}"));
        }
    }
}

/// One `<!ENTITY name "value">` (after `<!ENTITY`): name, value and what follows.
fn entity(text: &str) -> Result<(&str, &str, &str), String> {
    let text = text.trim_start();
    if text.starts_with('%') {
        return Err("it declares a parameter entity".into());
    }
    let end = text.find(|c: char| c.is_whitespace()).ok_or("an entity declaration is not closed")?;
    let (name, rest) = text.split_at(end);
    let rest = rest.trim_start();
    let q = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => q,
        _ if rest.starts_with("SYSTEM") || rest.starts_with("PUBLIC") => {
            return Err(format!("entity {name:?} is external (it would read another file)"))
        }
        _ => return Err(format!("entity {name:?} has no quoted value")),
    };
    let (value, rest) = quoted(rest, q)?;
    if value.contains('%') {
        return Err(format!("entity {name:?} uses a parameter entity"));
    }
    let rest = rest.trim_start().strip_prefix('>').ok_or_else(|| format!("entity {name:?} is not closed"))?;
    Ok((name, value, rest))
}

/// The text between the quote `q` that starts `text`, and what follows the closing quote.
fn quoted(text: &str, q: char) -> Result<(&str, &str), String> {
    let inner = &text[q.len_utf8()..];
    let end = inner.find(q).ok_or("a quoted string in the DOCTYPE is not closed")?;
    Ok((&inner[..end], &inner[end + q.len_utf8()..]))
}

/// The names of the general entity references (`&name;`) in `text`; character references are skipped.
fn references(text: &str) -> impl Iterator<Item = &str> {
    text.split('&').skip(1).filter_map(|piece| {
        let (name, _) = piece.split_once(';')?;
        (!name.starts_with('#') && !name.is_empty() && name.len() <= 256).then_some(name)
    })
}

/// An entity's size once expanded, and how deeply entities nest within it (0: it refers to none).
#[derive(Clone, Copy)]
struct Expansion {
    bytes: u64,
    depth: usize,
}

/// How entity `name` expands; refuses loops, nesting past [`MAX_ENTITY_DEPTH`] and sizes past the cap.
/// `open` holds the entities being expanded, to tell a loop from a shared reference.
fn expanded_size<'a>(
    name: &'a str,
    entities: &Entities<'a>,
    sizes: &mut HashMap<&'a str, Expansion>,
    open: &mut Vec<&'a str>,
) -> Result<Expansion, String> {
    if let Some(known) = sizes.get(name) {
        return Ok(*known);
    }
    let Some(value) = entities.get(name) else {
        // Predefined (`&amp;`) or undeclared: the parser expands the one and refuses the other.
        return Ok(Expansion { bytes: 1, depth: 0 });
    };
    if open.contains(&name) {
        return Err(format!("entity {name:?} refers to itself"));
    }
    if open.len() > MAX_ENTITY_DEPTH {
        return Err(format!("its entities nest deeper than {MAX_ENTITY_DEPTH}"));
    }
    open.push(name);
    let mut expansion = Expansion { bytes: value.len() as u64, depth: 0 };
    for inner in references(value) {
        let child = expanded_size(inner, entities, sizes, open)?;
        // The reference `&inner;` is replaced by what it expands to.
        expansion.bytes = expansion.bytes.saturating_sub(inner.len() as u64 + 2).saturating_add(child.bytes);
        expansion.depth = expansion.depth.max(child.depth + 1);
        if expansion.bytes > MAX_EXPANDED_BYTES {
            return Err(format!("entity {name:?} would expand to more than {MAX_EXPANDED_BYTES} bytes"));
        }
    }
    open.pop();
    if expansion.depth > MAX_ENTITY_DEPTH {
        return Err(format!("its entities nest deeper than {MAX_ENTITY_DEPTH}"));
    }
    sizes.insert(name, expansion);
    Ok(expansion)
}

#[cfg(test)]
#[path = "dtd_tests.rs"]
mod tests;
