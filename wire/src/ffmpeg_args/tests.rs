use super::*;

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

fn refusal(line: &str) -> String {
    check(&args(line)).unwrap_err().to_string()
}

#[test]
fn a_proxy_s_arguments_pass_and_say_what_they_ask() {
    let asked = check(&args(
        "-vf scale=-2:540 -c:v libx264 -preset veryfast -crf 23 -g 1 -bf 0 -nostats -c:a aac -b:a 128k -t 1.5 -shortest",
    ))
    .unwrap();
    assert_eq!(asked.video_encoder.as_deref(), Some("libx264"));
    assert_eq!(asked.audio_encoder.as_deref(), Some("aac"));
    assert_eq!(asked.duration, Some(1.5));
    assert!(asked.shortest && !asked.no_video && !asked.no_audio);
    let audio = check(&args("-vn -acodec flac -ss 00:00:01.5 -to 4")).unwrap();
    assert!(audio.no_video);
    assert_eq!((audio.start, audio.stop, audio.audio_encoder.as_deref()), (Some(1.5), Some(4.0), Some("flac")));
    assert_eq!(check(&[]), Ok(Asked::default()));
}

#[test]
fn each_refused_argument_gives_its_line() {
    assert_eq!(refusal("-i /etc/passwd"), "refused: -i: inputs are given with --input");
    assert_eq!(
        refusal("-c:v libx264 /tmp/second.mp4"),
        "refused: /tmp/second.mp4: a second output (a job writes only its --output)"
    );
    assert_eq!(refusal("-c:v libx264 -"), "refused: -: a second output (a job writes only its --output)");
    assert_eq!(refusal("-f alsa"), "refused: -f alsa: a device, network or multi-file format");
    assert_eq!(refusal("-f rtp"), "refused: -f rtp: a device, network or multi-file format");
    assert_eq!(refusal("-f tee"), "refused: -f tee: a device, network or multi-file format");
    assert_eq!(refusal("-f lavfi"), "refused: -f lavfi: a device, network or multi-file format");
    assert_eq!(
        refusal("-filter_complex movie=/etc/hosts[m];[0:v][m]overlay"),
        "refused: -filter_complex: the filter movie reads a file the job does not list"
    );
    assert_eq!(
        refusal("-af amovie=/srv/other.wav,volume=2"),
        "refused: -af: the filter amovie reads a file the job does not list"
    );
    assert_eq!(
        refusal("-vf scale=960:-2,movie@m=/x.mp4"),
        "refused: -vf: the filter movie reads a file the job does not list"
    );
    assert_eq!(
        refusal("-filter_script /tmp/graph.txt"),
        "refused: -filter_script: reads a filter graph from a file the job does not list"
    );
    assert_eq!(
        refusal("-filter_complex_script /tmp/graph.txt"),
        "refused: -filter_complex_script: reads a filter graph from a file the job does not list"
    );
    assert_eq!(refusal("-attach /etc/hosts"), "refused: -attach: adds a file the job does not list");
    assert_eq!(
        refusal("-dump_attachment:t:0 /tmp/x"),
        "refused: -dump_attachment:t:0: writes a file beside the job's output"
    );
    assert_eq!(refusal("-progress http://10.0.0.1/"), "refused: -progress: the worker reads ffmpeg's progress itself");
    assert_eq!(refusal("-c:v"), "refused: -c:v: no value follows it");
    assert_eq!(refusal("-t soon"), "refused: -t soon: not a time ([HH:]MM:SS[.m] or seconds)");
}

#[test]
fn a_valueless_option_does_not_hide_an_output_behind_it() {
    // `-shortest` takes no value: the word after it is an output, not its value.
    assert_eq!(
        refusal("-shortest /tmp/x.mp4"),
        "refused: /tmp/x.mp4: a second output (a job writes only its --output)"
    );
    assert_eq!(refusal("-nostdin /tmp/x.mp4"), "refused: /tmp/x.mp4: a second output (a job writes only its --output)");
    // A quoted or escaped name is refused too (erring on the side of refusing).
    assert!(refusal("-vf drawtext=text='a,movie=b'").contains("the filter movie"));
}

#[test]
fn counts_and_lengths_are_capped_at_their_limits() {
    let at = vec!["-an".to_string(); MAX_FFMPEG_ARGS];
    assert!(check(&at).is_ok());
    let past = vec!["-an".to_string(); MAX_FFMPEG_ARGS + 1];
    assert_eq!(check(&past).unwrap_err().to_string(), "refused: the job gives ffmpeg 257 arguments; the limit is 256");
    let long = vec!["-metadata".to_string(), format!("title={}", "x".repeat(MAX_FFMPEG_ARG_BYTES - 6))];
    assert!(check(&long).is_ok());
    let longer = vec!["-metadata".to_string(), format!("title={}", "x".repeat(MAX_FFMPEG_ARG_BYTES - 5))];
    assert!(check(&longer).unwrap_err().to_string().ends_with("is 4097 bytes; the limit is 4096"));
    let inputs: Vec<String> = (0..MAX_FFMPEG_INPUTS).map(|i| format!("/m/{i}.mov")).collect();
    assert_eq!(check_inputs(&inputs, "/o.mp4"), Ok(()));
    let more: Vec<String> = (0..=MAX_FFMPEG_INPUTS).map(|i| format!("/m/{i}.mov")).collect();
    assert_eq!(
        check_inputs(&more, "/o.mp4").unwrap_err().to_string(),
        "refused: the job names 17 inputs; the limit is 16"
    );
    assert_eq!(
        check_inputs(&[], "/o.mp4").unwrap_err().to_string(),
        "refused: an ffmpeg job needs at least one --input"
    );
    assert_eq!(
        check_inputs(&["m.mov".into()], "/o.mp4").unwrap_err().to_string(),
        "refused: the input m.mov is not an absolute path"
    );
    assert_eq!(
        check_inputs(&["/o.mp4".into()], "/o.mp4").unwrap_err().to_string(),
        "refused: the output /o.mp4 is also an input"
    );
}

#[test]
fn each_refusal_says_its_kind() {
    let kind = |line: &str| check(&args(line)).unwrap_err();
    assert!(matches!(kind("-i /etc/passwd"), FfmpegArgRefusal::RefusedOption { ref arg, .. } if arg == "-i"));
    assert!(matches!(kind("-c:v libx264 out.mp4"), FfmpegArgRefusal::SecondOutput { ref arg } if arg == "out.mp4"));
    assert!(matches!(kind("-f rtp"), FfmpegArgRefusal::RefusedFormat { ref format, .. } if format == "rtp"));
    assert!(matches!(kind("-vf movie=/x.mp4"), FfmpegArgRefusal::RefusedFilter { filter: "movie", .. }));
    assert!(matches!(kind("-ss later"), FfmpegArgRefusal::NotATime { ref value, .. } if value == "later"));
    assert!(matches!(kind("-b:v"), FfmpegArgRefusal::NoValue { .. }));
    let many = vec!["-an".to_string(); MAX_FFMPEG_ARGS + 1];
    assert!(matches!(check(&many), Err(FfmpegArgRefusal::TooManyArgs { count: 257, limit: MAX_FFMPEG_ARGS })));

    let inputs: Vec<String> = (0..=MAX_FFMPEG_INPUTS).map(|i| format!("/m/{i}.mov")).collect();
    assert!(matches!(
        check_inputs(&inputs, "/o.mp4"),
        Err(FfmpegArgRefusal::Limit(crate::error::LimitError::TooMany { what: "inputs", count: 17, .. }))
    ));
    let long = format!("/{}", "m".repeat(crate::limits::MAX_PATH_BYTES));
    assert!(matches!(
        check_inputs(&[long], "/o.mp4"),
        Err(FfmpegArgRefusal::Limit(crate::error::LimitError::TooLong { what: "an input path", .. }))
    ));
    let twice = ["/m/a.mov".to_string(), "/m/a.mov".to_string()];
    assert!(matches!(check_inputs(&twice, "/o.mp4"), Err(FfmpegArgRefusal::InputTwice { .. })));
    assert!(matches!(check_inputs(&["/o.mp4".into()], "/o.mp4"), Err(FfmpegArgRefusal::OutputIsInput { .. })));
    assert!(matches!(check_inputs(&["a.mov".into()], "/o.mp4"), Err(FfmpegArgRefusal::InputNotAbsolute { .. })));
}

#[test]
fn times_read_as_ffmpeg_reads_them_and_the_expected_length_follows() {
    assert_eq!(seconds("1.5"), Some(1.5));
    assert_eq!(seconds("01:02"), Some(62.0));
    assert_eq!(seconds("1:00:00.5"), Some(3600.5));
    assert_eq!(seconds("250ms"), Some(0.25));
    assert_eq!(seconds("2s"), Some(2.0));
    assert_eq!(seconds("x"), None);
    assert_eq!(seconds("1::2"), None);
    let asked = Asked { start: Some(1.0), duration: Some(5.0), ..Asked::default() };
    assert_eq!(asked.expected_seconds(10.0, 3.0), 5.0);
    assert_eq!(Asked { stop: Some(4.0), ..asked.clone() }.expected_seconds(10.0, 3.0), 3.0);
    assert_eq!(Asked { shortest: true, ..Asked::default() }.expected_seconds(10.0, 3.0), 3.0);
    assert_eq!(Asked::default().expected_seconds(10.0, 3.0), 10.0);
}

#[test]
fn the_command_line_whitelists_each_input_and_ends_with_the_output() {
    let line = command_line(&["/m/a b.mov".into()], &args("-c:v libx264"), "/o/.x.partial/x.mp4");
    assert_eq!(
        line,
        [
            "-nostdin",
            "-y",
            "-hide_banner",
            "-nostats",
            "-protocol_whitelist",
            "file,pipe",
            "-i",
            "file:/m/a b.mov",
            "-c:v",
            "libx264",
            "-progress",
            "pipe:1",
            "file:/o/.x.partial/x.mp4"
        ]
    );
    assert_eq!(shown("ffmpeg", &line[6..8]), "ffmpeg -i 'file:/m/a b.mov'");
}
