//! The terminal chat: the offline way to try the bot as one user.
//!
//! Buttons are shown numbered and chosen by number or by their text; `/contact` shares the
//! user's own contact, `/contact NUMBER` someone else's; `/photo PATH` sends an image;
//! `/sticker`, `/voice`, `/location`, `/forward TEXT`, `/edit TEXT` imitate other kinds of
//! message. With a non-terminal stdin it reads a script line by line and echoes each line.

use crate::core::{Core, Event, Inbound, Keyboard, Label, MediaKind, Outbound};
use crate::domain::Lang;
use crate::i18n::Texts;
use crate::storage::ChatRef;
use std::io::{BufRead, Write};

pub const CHANNEL: &str = "terminal";

#[derive(Debug, Clone)]
pub struct TerminalOptions {
    /// The chat id, so several people can be tried on one database.
    pub user: String,
    /// The number `/contact` shares.
    pub phone: String,
    /// What a messenger would report as the user's language.
    pub lang_hint: Option<String>,
    /// Echo input lines (for scripts read from a pipe).
    pub echo: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Choice {
    Data(String),
    Text(String),
    Contact,
}

/// Runs the chat until end of input or `/quit`.
pub async fn run(
    core: &Core,
    input: impl BufRead,
    mut out: impl Write,
    options: &TerminalOptions,
) -> anyhow::Result<()> {
    let chat = ChatRef::new(CHANNEL, options.user.clone());
    let mut choices: Vec<(String, Choice)> = Vec::new();
    let mut reply_keyboard: Vec<(String, Choice)> = Vec::new();
    let mut serial: u64 = 0;
    // Distinguishes two runs in one process (update keys must never repeat).
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    if !options.echo {
        write!(out, "> ")?;
        out.flush()?;
    }
    for line in input.lines() {
        let line = line?;
        let line = line.trim_end_matches(['\r', '\n']);
        if options.echo {
            writeln!(out, "> {line}")?;
        }
        if line.trim() == "/quit" {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let event = match parse_line(line, &choices, &options.phone) {
            Ok(event) => event,
            Err(problem) => {
                writeln!(out, "(terminal) {problem}")?;
                continue;
            }
        };
        serial += 1;
        let inbound = Inbound {
            chat: chat.clone(),
            update_key: Some(format!("{}-{run}-{serial}", std::process::id())),
            lang_hint: options.lang_hint.clone(),
            event,
        };
        let replies = match core.handle(inbound.clone()).await {
            Ok(r) => {
                // Printed just below: a terminal never redelivers, nothing to keep.
                if !r.is_empty()
                    && let Some(key) = &inbound.update_key
                    && let Err(e) = core.replies_sent(&chat, key).await
                {
                    tracing::warn!(error = %e, "cannot forget the replies");
                }
                r
            }
            Err(e) => {
                tracing::error!(error = %e, channel = CHANNEL, "handling failed");
                vec![Core::error_reply(
                    core.language_of(&chat, options.lang_hint.as_deref()).await,
                )]
            }
        };
        let mut replies = replies;
        // Notices for this user queued elsewhere (reminders, check-outs, staff feeds).
        match own_notices(core, &chat).await {
            Ok(notices) => replies.extend(notices),
            Err(e) => tracing::error!(error = %e, "cannot read this chat's notices"),
        }
        render(
            &core.texts,
            &replies,
            &mut out,
            &mut choices,
            &mut reply_keyboard,
        )?;
        // Notices queued for this user (by this or another chat) are shown as they come.
        let notices = own_notices(core, &chat).await?;
        if !notices.is_empty() {
            render(
                &core.texts,
                &notices,
                &mut out,
                &mut choices,
                &mut reply_keyboard,
            )?;
        }
        if !options.echo {
            write!(out, "> ")?;
        }
        out.flush()?;
    }
    Ok(())
}

/// The terminal's half of the outbox worker: a message "sent" to the person at the
/// terminal is collected and printed after their input.
#[derive(Default)]
struct Collect(std::sync::Mutex<Vec<Outbound>>);

impl crate::delivery::Deliver for Collect {
    fn channel(&self) -> &str {
        CHANNEL
    }

    async fn deliver(
        &self,
        _core: &Core,
        envelope: crate::delivery::Envelope<'_>,
    ) -> crate::delivery::Sent {
        self.0.lock().unwrap().push(envelope.message.clone());
        crate::delivery::Sent::Delivered
    }
}

/// Takes the outbox messages due for this terminal user (through the outbox worker, which
/// marks them sent).
async fn own_notices(core: &Core, chat: &ChatRef) -> anyhow::Result<Vec<Outbound>> {
    let worker = crate::delivery::Worker::new(Collect::default());
    worker.send_due_for_chat(core, &chat.chat_id).await?;
    Ok(std::mem::take(&mut *worker_collected(&worker)))
}

fn worker_collected(
    worker: &crate::delivery::Worker<Collect>,
) -> std::sync::MutexGuard<'_, Vec<Outbound>> {
    worker.deliver().0.lock().unwrap()
}

fn parse_line(line: &str, choices: &[(String, Choice)], own_phone: &str) -> Result<Event, String> {
    let text = line.trim();
    let choice = text
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1 && *n <= choices.len())
        .map(|n| &choices[n - 1].1)
        .or_else(|| {
            choices
                .iter()
                .find(|(label, _)| label.eq_ignore_ascii_case(text))
                .map(|(_, c)| c)
        });
    if let Some(choice) = choice {
        return Ok(match choice {
            Choice::Data(d) => Event::Button(d.clone()),
            Choice::Text(t) => Event::Text(t.clone()),
            Choice::Contact => Event::Contact {
                phone: own_phone.to_string(),
                own: true,
            },
        });
    }
    let (head, arg) = text.split_once(' ').unwrap_or((text, ""));
    let arg = arg.trim();
    Ok(match head {
        "/contact" if arg.is_empty() => Event::Contact {
            phone: own_phone.to_string(),
            own: true,
        },
        "/contact" => Event::Contact {
            phone: arg.to_string(),
            own: false,
        },
        "/photo" => {
            let bytes = std::fs::read(arg).map_err(|e| format!("cannot read {arg}: {e}"))?;
            Event::Image(bytes)
        }
        "/sticker" => Event::Unsupported(MediaKind::Sticker),
        "/voice" => Event::Unsupported(MediaKind::Voice),
        // A pin in central Almaty.
        "/location" => Event::Location {
            lat: 43.2383,
            lon: 76.9457,
        },
        "/forward" => Event::Forwarded,
        "/edit" => Event::Edited,
        _ if text.starts_with('/') => {
            let name = head.trim_start_matches('/').to_lowercase();
            Event::Command {
                name,
                arg: arg.to_string(),
            }
        }
        _ => Event::Text(line.to_string()),
    })
}

fn label(texts: &Texts, lang: Lang, label: &Label) -> String {
    match label {
        Label::Text(m) => texts.render(lang, m),
        Label::Literal(s) => s.clone(),
    }
}

/// Saves an attachment where the person at the terminal can open it and says where.
fn save_attachment(file: &crate::core::Attachment) -> String {
    let dir = std::env::temp_dir().join("ashyq-chat");
    // Only the last path component of the name: a name never writes outside `dir`.
    let name = std::path::Path::new(&file.file_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string());
    let path = dir.join(name);
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &file.bytes)) {
        Ok(()) => format!("[{} bytes: {}]", file.bytes.len(), path.display()),
        Err(e) => format!("[{} bytes, not saved: {e}]", file.bytes.len()),
    }
}

fn render(
    texts: &Texts,
    replies: &[Outbound],
    out: &mut impl Write,
    choices: &mut Vec<(String, Choice)>,
    reply_keyboard: &mut Vec<(String, Choice)>,
) -> std::io::Result<()> {
    let mut inline: Option<Vec<(String, Choice)>> = None;
    for reply in replies {
        writeln!(out, "{}", texts.render(reply.lang, &reply.text))?;
        if let Some(file) = &reply.attachment {
            writeln!(out, "{}", save_attachment(file))?;
        }
        match &reply.keyboard {
            Keyboard::Keep => {}
            Keyboard::Remove => reply_keyboard.clear(),
            Keyboard::Inline(rows) => {
                inline = Some(
                    rows.iter()
                        .flatten()
                        .map(|b| {
                            (
                                label(texts, reply.lang, &b.label),
                                Choice::Data(b.data.clone()),
                            )
                        })
                        .collect(),
                );
            }
            Keyboard::Reply(rows) => {
                inline = None;
                *reply_keyboard = rows
                    .iter()
                    .flatten()
                    .map(|b| {
                        let l = label(texts, reply.lang, &b.label);
                        let c = if b.request_contact {
                            Choice::Contact
                        } else {
                            Choice::Text(l.clone())
                        };
                        (l, c)
                    })
                    .collect();
            }
        }
        writeln!(out)?;
    }
    *choices = inline.unwrap_or_else(|| reply_keyboard.clone());
    if !choices.is_empty() {
        let line: Vec<String> = choices
            .iter()
            .enumerate()
            .map(|(i, (l, _))| format!("[{}] {l}", i + 1))
            .collect();
        writeln!(out, "{}", line.join("  "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_labels_pick_buttons() {
        let choices = vec![
            ("Қазақша".to_string(), Choice::Data("lang:kk".into())),
            ("📱 Share".to_string(), Choice::Contact),
        ];
        assert_eq!(
            parse_line("1", &choices, "+7"),
            Ok(Event::Button("lang:kk".into()))
        );
        assert_eq!(
            parse_line("📱 share", &choices, "+77011234567"),
            Ok(Event::Contact {
                phone: "+77011234567".into(),
                own: true
            })
        );
        assert_eq!(parse_line("3", &choices, "+7"), Ok(Event::Text("3".into())));
        assert_eq!(
            parse_line("/contact +77020000000", &[], "+7"),
            Ok(Event::Contact {
                phone: "+77020000000".into(),
                own: false
            })
        );
        assert_eq!(
            parse_line("/start abc", &[], "+7"),
            Ok(Event::Command {
                name: "start".into(),
                arg: "abc".into()
            })
        );
        assert!(parse_line("/photo /nonexistent.png", &[], "+7").is_err());
    }
}
