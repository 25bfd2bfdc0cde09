//! Files named inside a property's own small language, which the property-by-property reading in `references`
//! cannot see: the `movie` and `amovie` sources of a `lavfi:` graph (they open any file ffmpeg can read), and the
//! images of a Kdenlive title (`kdenlivetitle`'s `xmldata`, whose picture items name their files by `url`). Each is
//! checked like any other reference, so a graph or a title cannot turn a file outside the media roots into pixels.

/// The most nodes a title's `xmldata` may have; past it the title names no file here, and melt is left to refuse it.
const MAX_TITLE_NODES: u32 = 100_000;

/// The files a lavfi graph's `movie` and `amovie` sources read (their first argument, or `filename=`), unquoted.
pub fn lavfi_sources(graph: &str) -> Vec<String> {
    split_outside_quotes(graph, &[',', ';'])
        .into_iter()
        .filter_map(|filter| {
            // Link labels (`[in]movie=...[out]`) come before and after the filter itself.
            let mut filter = filter.trim();
            while let Some(rest) = filter.strip_prefix('[').and_then(|f| f.split_once(']')).map(|(_, rest)| rest) {
                filter = rest.trim_start();
            }
            let (name, mut args) = filter.split_once('=')?;
            if name.trim() != "movie" && name.trim() != "amovie" {
                return None;
            }
            while let Some(at) = args.trim_end().strip_suffix(']').and_then(|a| a.rfind('[')) {
                args = &args[..at];
            }
            let args = split_outside_quotes(args, &[':']);
            let named = args.iter().find_map(|a| a.trim().strip_prefix("filename=").map(str::to_string));
            let positional = args.first().filter(|a| !a.contains('=') || a.trim_start().starts_with('\'')).cloned();
            named.or(positional).map(|file| unquote(file.trim()))
        })
        .filter(|file| !file.is_empty())
        .collect()
}

/// The files a Kdenlive title's items show (`<content url="...">`); none when the title is not XML this reads.
pub fn title_images(xmldata: &str) -> Vec<String> {
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: MAX_TITLE_NODES, ..Default::default() };
    let Ok(doc) = roxmltree::Document::parse_with_options(xmldata, options) else {
        return Vec::new();
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("content"))
        .filter_map(|n| n.attribute("url"))
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .collect()
}

/// `text` cut at each of `separators` that is outside single quotes and not escaped with `\`.
fn split_outside_quotes(text: &str, separators: &[char]) -> Vec<String> {
    let (mut parts, mut current, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in text.chars() {
        match c {
            _ if escaped => {
                current.push('\\');
                current.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            c if !quoted && separators.contains(&c) => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// A value with its single quotes and backslash escapes taken away, as ffmpeg reads it.
fn unquote(text: &str) -> String {
    let (mut out, mut escaped) = (String::new(), false);
    for c in text.chars() {
        match c {
            _ if escaped => {
                out.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '\'' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_s_movie_and_amovie_sources_are_found_quoted_named_or_labelled() {
        assert_eq!(lavfi_sources("movie=/srv/keys/w1.key"), ["/srv/keys/w1.key"]);
        assert_eq!(lavfi_sources("testsrc=size=64x48,format=rgb24"), Vec::<String>::new());
        assert_eq!(
            lavfi_sources("movie='/a b/c\\'d.png':loop=0,scale=64:48;amovie=filename=/m/tone.wav[a]"),
            ["/a b/c'd.png", "/m/tone.wav"]
        );
        assert_eq!(lavfi_sources("[in]movie=/x/logo.png[logo];[in][logo]overlay"), ["/x/logo.png"]);
        assert_eq!(lavfi_sources("color=red,drawtext=text='movie=/not/a/source'"), Vec::<String>::new());
    }

    #[test]
    fn a_title_s_picture_items_name_their_files_and_a_broken_title_names_none() {
        let title = r#"<kdenlivetitle width="1920" height="1080"><item type="QGraphicsPixmapItem" z-index="0">
            <position x="0" y="0"/><content url="/home/ed/logo.png"/></item>
            <item type="QGraphicsTextItem"><content font="Sans">Hello</content></item>
            <item type="QGraphicsSvgItem"><content url="/home/ed/mark.svg"/></item></kdenlivetitle>"#;
        assert_eq!(title_images(title), ["/home/ed/logo.png", "/home/ed/mark.svg"]);
        assert_eq!(title_images("<kdenlivetitle><item"), Vec::<String>::new());
        assert_eq!(title_images("plain text"), Vec::<String>::new());
    }

    #[test]
    fn a_deeply_nested_or_huge_title_is_read_without_recursion_or_names_nothing() {
        let deep = format!("{}<content url=\"/m/a.png\"/>{}", "<item>".repeat(50_000), "</item>".repeat(50_000));
        let read = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || title_images(&deep));
        assert_eq!(read.unwrap().join().unwrap(), ["/m/a.png"]);
        let wide = "<c/>".repeat(MAX_TITLE_NODES as usize + 1);
        assert_eq!(title_images(&format!("<t>{wide}</t>")), Vec::<String>::new(), "past the node limit");
    }
}
