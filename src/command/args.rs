//! Arguments of one command checked against its row of the table: arity,
//! option keys (with a did-you-mean), values through the naming rules.

use super::lexer::Arg;
use super::table::{CommandSpec, Parser, COMMANDS};
use super::{code, Command, CommandError};
use crate::naming::NameError;

/// The canonical spelling of a command or option name: lowercase, and the
/// given separator for both `_` and `-`.
pub(super) fn normalize(name: &str, sep: char) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '-' => sep,
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The definition of a command by any accepted spelling (`Rerun_Studio`,
/// `/rerun-studio`, …).
pub fn find_spec(name: &str) -> Option<&'static CommandSpec> {
    let name = normalize(name.strip_prefix('/').unwrap_or(name), '-');
    COMMANDS.iter().copied().find(|s| s.name == name)
}

/// The closest candidate to `input`, if close enough to be a plausible typo.
pub(super) fn did_you_mean<'a>(
    input: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .filter_map(|c| {
            let d = strsim::levenshtein(input, c);
            let jw = strsim::jaro_winkler(input, c);
            (d <= 3 || jw >= 0.8).then_some((d, jw, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}

/// Latin look-alikes of Cyrillic and Greek letters, for suggestions only: a
/// folded name is offered as a did-you-mean, it never runs.
fn fold_confusables(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'а' | 'α' => 'a',
            'в' | 'β' => 'b',
            'с' | 'ϲ' => 'c',
            'ԁ' => 'd',
            'е' | 'ε' => 'e',
            'һ' => 'h',
            'і' | 'ι' => 'i',
            'ј' => 'j',
            'к' | 'κ' => 'k',
            'ӏ' => 'l',
            'м' => 'm',
            'п' | 'η' => 'n',
            'о' | 'ο' => 'o',
            'р' | 'ρ' => 'p',
            'ԛ' => 'q',
            'г' => 'r',
            'ѕ' => 's',
            'т' | 'τ' => 't',
            'υ' => 'u',
            'ѵ' | 'ν' => 'v',
            'ԝ' => 'w',
            'х' | 'χ' => 'x',
            'у' | 'γ' => 'y',
            'А' | 'Α' => 'a',
            'В' | 'Β' => 'b',
            'С' => 'c',
            'Е' | 'Ε' => 'e',
            'Н' | 'Η' => 'h',
            'І' | 'Ι' => 'i',
            'Ј' => 'j',
            'К' | 'Κ' => 'k',
            'М' | 'Μ' => 'm',
            'О' | 'Ο' => 'o',
            'Р' | 'Ρ' => 'p',
            'Т' | 'Τ' => 't',
            'Х' | 'Χ' => 'x',
            '‐' | '‑' | '‒' | '–' | '—' | '−' => '-',
            c => c,
        })
        .collect()
}

pub(super) fn unknown_command(name: &str) -> CommandError {
    let norm = normalize(&fold_confusables(name), '-');
    CommandError::new(format!(
        "Unknown command {}; {} lists the commands.",
        code(&format!("/{name}")),
        code("/help")
    ))
    .with_suggestion(did_you_mean(&norm, COMMANDS.iter().map(|s| s.name)).map(|s| format!("/{s}")))
}

/// Parses a command from its name and words: finds its row in the table and
/// lets the row's parser build it. `/plan` parses the command it plans.
pub(super) fn parse_command(
    name: &str,
    args: Vec<Arg>,
    in_plan: bool,
) -> Result<Command, CommandError> {
    let spec = find_spec(name).ok_or_else(|| unknown_command(name))?;
    match spec.parse {
        Parser::Args(parse) => parse(&Args::collect(spec, args)?),
        Parser::Plan => parse_plan(spec, args, in_plan),
    }
}

fn parse_plan(
    spec: &'static CommandSpec,
    args: Vec<Arg>,
    in_plan: bool,
) -> Result<Command, CommandError> {
    if in_plan {
        return Err(CommandError::new(format!(
            "{} cannot plan another {}; write the command to plan after it.",
            code("/plan"),
            code("/plan")
        )));
    }
    let mut args = args.into_iter();
    let Some(Arg::Word(inner)) = args.next() else {
        return Err(CommandError::usage(spec, "Missing the COMMAND to plan"));
    };
    let name = inner.strip_prefix('/').unwrap_or(&inner);
    let inner_spec = find_spec(name).ok_or_else(|| unknown_command(name))?;
    if matches!(inner_spec.parse, Parser::Args(_)) && !inner_spec.mutating {
        return Err(CommandError::new(format!(
            "{} changes nothing, so there is nothing to plan; send it without {}.",
            code(&format!("/{}", inner_spec.name)),
            code("/plan")
        )));
    }
    let inner = parse_command(name, args.collect(), true)?;
    Ok(Command::Plan(Box::new(inner)))
}

/// A command's arguments after checking them against its [`CommandSpec`].
pub struct Args {
    spec: &'static CommandSpec,
    pub(super) pos: Vec<String>,
    opts: Vec<(&'static str, String)>,
}

impl Args {
    pub(super) fn collect(
        spec: &'static CommandSpec,
        args: Vec<Arg>,
    ) -> Result<Args, CommandError> {
        let mut pos = Vec::new();
        let mut opts: Vec<(&'static str, String)> = Vec::new();
        let mut args = args.into_iter().peekable();
        while let Some(arg) = args.next() {
            let (key, value) = match arg {
                // `/rerun COURSE NEW_TERM from OLD_TERM`: a literal `from` after
                // the positionals is the `from=` option in prose.
                Arg::Word(w)
                    if spec
                        .keyword_option
                        .is_some_and(|(k, _)| !pos.is_empty() && w.eq_ignore_ascii_case(k)) =>
                {
                    let Some((keyword, value_name)) = spec.keyword_option else {
                        continue;
                    };
                    if pos.len() < spec.positional.len() {
                        let missing = spec.positional[pos.len()..].join(" ");
                        return Err(CommandError::usage(
                            spec,
                            format!("Missing {missing} before {}", code(keyword)),
                        ));
                    }
                    match args.next() {
                        Some(Arg::Word(t)) => (keyword.to_owned(), t),
                        _ => {
                            return Err(CommandError::usage(
                                spec,
                                format!("{} needs the {value_name} after it", code(keyword)),
                            ))
                        }
                    }
                }
                Arg::Word(w) => {
                    pos.push(w);
                    continue;
                }
                Arg::Opt { key, value } => (key, value),
            };
            let norm = normalize(&key, '_');
            let Some((canon, _)) = spec.options.iter().find(|(k, _)| *k == norm) else {
                let problem = if spec.options.is_empty() {
                    format!(
                        "{} takes no options, got {}",
                        code(&format!("/{}", spec.name)),
                        code(&format!("{key}="))
                    )
                } else {
                    format!("Unknown option {}", code(&format!("{key}=")))
                };
                return Err(CommandError::usage(spec, problem).with_suggestion(
                    did_you_mean(&norm, spec.options.iter().map(|(k, _)| *k))
                        .map(|k| format!("{k}=")),
                ));
            };
            if opts.iter().any(|(k, _)| k == canon) {
                return Err(CommandError::usage(
                    spec,
                    format!("Option {} is given twice", code(&format!("{canon}="))),
                ));
            }
            opts.push((canon, value));
        }
        let required = spec
            .positional
            .iter()
            .filter(|p| !p.starts_with('['))
            .count();
        if pos.len() < required {
            let missing = spec.positional[pos.len()..required].join(" ");
            return Err(CommandError::usage(spec, format!("Missing {missing}")));
        }
        if pos.len() > spec.positional.len() {
            let extra = &pos[spec.positional.len()..];
            let what = if extra.len() == 1 {
                "argument"
            } else {
                "arguments"
            };
            let shown: Vec<String> = extra.iter().map(|e| code(e)).collect();
            // `2018 Spring` for `2018_Spring`: two words that make one term.
            let joined = (extra.len() == 1 && !spec.positional.is_empty())
                .then(|| format!("{}_{}", pos[spec.positional.len() - 1], extra[0]))
                .filter(|t| crate::naming::Term::parse(t).is_ok_and(|t| t.is_dated()));
            return Err(CommandError::usage(
                spec,
                format!("Unexpected extra {what} {}", shown.join(" ")),
            )
            .with_suggestion(joined));
        }
        Ok(Args { spec, pos, opts })
    }

    /// `placeholder` is a positional's name (`COURSE`) or an option (`members=`).
    fn bad_value(&self, placeholder: &str, e: NameError) -> CommandError {
        let what = if placeholder.ends_with('=') {
            code(placeholder)
        } else {
            placeholder.to_owned()
        };
        CommandError::usage(self.spec, format!("Bad {what}: {}", e.to_markdown()))
    }

    pub(super) fn positional<T>(
        &self,
        i: usize,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Result<T, CommandError> {
        let value = self.pos.get(i).map(String::as_str).unwrap_or_default();
        let placeholder = self.spec.positional.get(i).copied().unwrap_or("argument");
        parse(value).map_err(|e| self.bad_value(placeholder, e))
    }

    pub(super) fn raw_option(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn option<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Result<Option<T>, CommandError> {
        self.raw_option(key)
            .map(|v| parse(v).map_err(|e| self.bad_value(&format!("{key}="), e)))
            .transpose()
    }

    /// A problem with this command's words, with its usage line.
    pub(super) fn usage_error(&self, problem: impl std::fmt::Display) -> CommandError {
        CommandError::usage(self.spec, problem)
    }

    /// A blank description is no description.
    pub(super) fn description(&self) -> Option<String> {
        self.raw_option("description")
            .filter(|d| !d.trim().is_empty())
            .map(str::to_owned)
    }

    pub(super) fn bool_option(&self, key: &str) -> Result<Option<bool>, CommandError> {
        let Some(v) = self.raw_option(key) else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(Some(true)),
            "false" | "no" => Ok(Some(false)),
            _ => Err(CommandError::usage(
                self.spec,
                format!(
                    "Bad {}: expected `true` or `false`, got {}",
                    code(&format!("{key}=")),
                    code(v)
                ),
            )),
        }
    }
}
