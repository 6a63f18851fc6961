//! The regular expressions of the AWS model's `pattern` constraints,
//! matched against a whole value (as AWS's services match them: a pattern
//! such as `(?s).{0,64}` is a length limit).
//!
//! A small backtracking matcher for what the model uses: literals, `.`,
//! classes (`[a-z0-9]`, `[^...]`, `\uXXXX`, `\d`, `\w`, `\s`, `\p{L}`,
//! `\p{N}`, `\p{Z}`), groups (`(...)`, `(?:...)`), alternation, the
//! quantifiers `* + ? {n} {m,} {m,n}` (greedy or lazy: the same for a
//! whole match), `^`, `$`, the `(?s)` flag and lookahead `(?=...)`.

#[derive(Debug, Clone)]
enum Item {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
    Letter,
    Number,
    Separator,
}

impl Item {
    fn matches(&self, c: char) -> bool {
        match self {
            Item::Range(a, b) => (*a..=*b).contains(&c),
            Item::Digit(yes) => c.is_ascii_digit() == *yes,
            Item::Word(yes) => (c.is_ascii_alphanumeric() || c == '_') == *yes,
            Item::Space(yes) => c.is_whitespace() == *yes,
            Item::Letter => c.is_alphabetic(),
            Item::Number => c.is_numeric(),
            Item::Separator => c.is_whitespace() && !c.is_control(),
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    Set {
        items: Vec<Item>,
        negated: bool,
    },
    Any {
        newline: bool,
    },
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
    },
    Start,
    End,
    Ahead(Box<Node>),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    node: Node,
}

impl Pattern {
    /// Compiles `source`; an error names what is not supported.
    pub fn compile(source: &str) -> Result<Self, String> {
        let mut parser = Parser {
            chars: source.chars().collect(),
            at: 0,
            dot_all: false,
        };
        if parser.eat_str("(?s)") {
            parser.dot_all = true;
        }
        let node = parser.alternation()?;
        if parser.at != parser.chars.len() {
            return Err(format!(
                "`{source}`: unexpected `{}`",
                parser.chars[parser.at]
            ));
        }
        Ok(Self { node })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let end = chars.len();
        Matcher { chars: &chars }.at(&self.node, 0, &|p| p == end)
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    dot_all: bool,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let wanted: Vec<char> = s.chars().collect();
        if self.chars[self.at..].starts_with(&wanted) {
            self.at += wanted.len();
            true
        } else {
            false
        }
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.eat('|') {
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.remove(0)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut nodes = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            nodes.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(nodes))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(c) = self.peek() else {
            return Err("the pattern ends early".into());
        };
        self.at += 1;
        match c {
            '.' => Ok(Node::Any {
                newline: self.dot_all,
            }),
            '^' => Ok(Node::Start),
            '$' => Ok(Node::End),
            '[' => self.class(),
            '(' => {
                let ahead = self.eat_str("?=");
                if !ahead {
                    self.eat_str("?:");
                }
                let inner = self.alternation()?;
                if !self.eat(')') {
                    return Err("a group is not closed".into());
                }
                Ok(if ahead {
                    Node::Ahead(Box::new(inner))
                } else {
                    inner
                })
            }
            '\\' => {
                let item = self.escape()?;
                Ok(Node::Set {
                    items: vec![item],
                    negated: false,
                })
            }
            '*' | '+' | '?' | '{' | ')' => Err(format!("`{c}` has nothing to repeat")),
            literal => Ok(Node::Set {
                items: vec![Item::Range(literal, literal)],
                negated: false,
            }),
        }
    }

    /// After a `\`: a class escape or an escaped character.
    fn escape(&mut self) -> Result<Item, String> {
        let Some(c) = self.peek() else {
            return Err("a `\\` ends the pattern".into());
        };
        self.at += 1;
        Ok(match c {
            'd' => Item::Digit(true),
            'D' => Item::Digit(false),
            'w' => Item::Word(true),
            'W' => Item::Word(false),
            's' => Item::Space(true),
            'S' => Item::Space(false),
            'p' => {
                let name: String = if self.eat('{') {
                    let start = self.at;
                    while self.peek().is_some_and(|c| c != '}') {
                        self.at += 1;
                    }
                    let name = self.chars[start..self.at].iter().collect();
                    self.eat('}');
                    name
                } else {
                    self.peek().map(String::from).unwrap_or_default()
                };
                match name.as_str() {
                    "L" => Item::Letter,
                    "N" => Item::Number,
                    "Z" => Item::Separator,
                    other => return Err(format!("the class \\p{{{other}}} is not supported")),
                }
            }
            'u' => {
                let hex: String = self
                    .chars
                    .get(self.at..self.at + 4)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                self.at += 4;
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("\\u{hex} is not a character"))?;
                Item::Range(ch, ch)
            }
            'n' => Item::Range('\n', '\n'),
            't' => Item::Range('\t', '\t'),
            other => Item::Range(other, other),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err("a class is not closed".into());
            };
            if c == ']' && !first {
                self.at += 1;
                break;
            }
            first = false;
            self.at += 1;
            let item = if c == '\\' {
                self.escape()?
            } else {
                Item::Range(c, c)
            };
            // A range `a-b`, unless `-` ends the class.
            if let Item::Range(low, _) = item
                && self.peek() == Some('-')
                && self.chars.get(self.at + 1).is_some_and(|n| *n != ']')
            {
                self.at += 1;
                let high = match self.peek() {
                    Some('\\') => {
                        self.at += 1;
                        match self.escape()? {
                            Item::Range(h, _) => h,
                            _ => return Err("a range ends in a class".into()),
                        }
                    }
                    Some(h) => {
                        self.at += 1;
                        h
                    }
                    None => return Err("a class is not closed".into()),
                };
                items.push(Item::Range(low, high));
            } else {
                items.push(item);
            }
        }
        Ok(Node::Set { items, negated })
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let close = self.chars[self.at..]
                    .iter()
                    .position(|c| *c == '}')
                    .ok_or("a `{` is not closed")?;
                let inside: String = self.chars[self.at + 1..self.at + close].iter().collect();
                let number = |s: &str| {
                    s.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("`{{{inside}}}`"))
                };
                let bounds = match inside.split_once(',') {
                    None => {
                        let n = number(&inside)?;
                        (n, Some(n))
                    }
                    Some((low, "")) => (number(low)?, None),
                    Some((low, high)) => (number(low)?, Some(number(high)?)),
                };
                self.at += close;
                bounds
            }
            _ => return Ok(atom),
        };
        self.at += 1;
        // Lazy or greedy matches the same whole strings.
        self.eat('?');
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }
}

struct Matcher<'a> {
    chars: &'a [char],
}

impl Matcher<'_> {
    fn one(&self, node: &Node, c: char) -> Option<bool> {
        match node {
            Node::Set { items, negated } => Some(items.iter().any(|i| i.matches(c)) != *negated),
            Node::Any { newline } => Some(*newline || c != '\n'),
            _ => None,
        }
    }

    /// Matches `node` at `pos`, then `k` from where it ended.
    fn at(&self, node: &Node, pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        match node {
            Node::Set { .. } | Node::Any { .. } => self
                .chars
                .get(pos)
                .is_some_and(|c| self.one(node, *c) == Some(true) && k(pos + 1)),
            Node::Start => pos == 0 && k(pos),
            Node::End => pos == self.chars.len() && k(pos),
            Node::Ahead(inner) => self.at(inner, pos, &|_| true) && k(pos),
            Node::Alt(branches) => branches.iter().any(|b| self.at(b, pos, k)),
            Node::Concat(nodes) => self.seq(nodes, pos, k),
            Node::Repeat { node, min, max } => {
                // One character at a time: count how far it reaches, then
                // try the longest first, without recursion.
                if matches!(**node, Node::Set { .. } | Node::Any { .. }) {
                    let limit = max.unwrap_or(usize::MAX);
                    let mut reach = 0;
                    while reach < limit
                        && self
                            .chars
                            .get(pos + reach)
                            .is_some_and(|c| self.one(node, *c) == Some(true))
                    {
                        reach += 1;
                    }
                    return reach >= *min && (*min..=reach).rev().any(|n| k(pos + n));
                }
                self.repeat(node, *min, *max, 0, pos, k)
            }
        }
    }

    fn seq(&self, nodes: &[Node], pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        match nodes.split_first() {
            None => k(pos),
            Some((first, rest)) => self.at(first, pos, &|p| self.seq(rest, p, k)),
        }
    }

    fn repeat(
        &self,
        node: &Node,
        min: usize,
        max: Option<usize>,
        count: usize,
        pos: usize,
        k: &dyn Fn(usize) -> bool,
    ) -> bool {
        let more = max.is_none_or(|m| count < m)
            && self.at(node, pos, &|p| {
                p != pos && self.repeat(node, min, max, count + 1, p, k)
            });
        more || (count >= min && k(pos))
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::compile(pattern).unwrap().matches(text)
    }

    #[test]
    fn the_models_patterns_match_as_aws_means_them() {
        assert!(m("(?s).{0,64}", "line one\nline two"));
        assert!(!m("(?s).{0,4}", "12345"));
        assert!(m(".{1,255}", "key"));
        assert!(!m(".{1,255}", "two\nlines"));
        assert!(!m(".{1,255}", ""));
        assert!(m("O[0-9]{1,19}", "O1234567"));
        assert!(!m("O[0-9]{1,19}", "X1234567"));
        assert!(m("[a-zA-Z]+", "Sandbox"));
        assert!(!m("[a-zA-Z]+", "Sand box"));
        assert!(m(
            "(?=.{1,255}$)(arn:.*|engi-[0-9a-z]{13})",
            "engi-0123456789abc"
        ));
        assert!(!m("(?=.{1,255}$)(arn:.*|engi-[0-9a-z]{13})", "engi-short"));
        let date = "[1-9][0-9]{3}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])";
        assert!(m(date, "2026-06-30"));
        assert!(!m(date, "2026-13-01"));
        let amount = "((0|([1-9][0-9]{0,30}))(\\.[0-9]{0,2})?)?";
        assert!(m(amount, "12000.50") && m(amount, "0") && m(amount, ""));
        assert!(!m(amount, "012") && !m(amount, "1.234") && !m(amount, "-5"));
        assert!(m("\\+[1-9]\\d{1,14}", "+358401234567"));
        assert!(!m("\\+[1-9]\\d{1,14}", "040 123"));
        let reason = "[\\u0020-\\u007E\\u00A0-\\uD7FF\\uE000-\\uFFFD]{1,80}";
        assert!(m(reason, "Not our market — sorry"));
        assert!(!m(reason, "two\nlines"));
        assert!(!m(reason, &"x".repeat(81)));
        let tag = "(?=.{1,128}$)([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)";
        assert!(m(tag, "onepane:registration"));
        assert!(!m(tag, "semi;colon"));
        let email = "(?=.{0,80}$)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
        assert!(m(email, "ada.lovelace@engines.example"));
        assert!(!m(email, "Ada@engines.example") && !m(email, "ada@"));
        let site = "(?=.{4,255}$)((http|https)://)??(www[.])??([a-zA-Z0-9]|-)+?([.][a-zA-Z0-9(-|/|=|?)??]+?)+?";
        assert!(m(site, "https://www.kesko.fi") && m(site, "kesko.fi"));
        assert!(!m(site, "kesko"));
    }

    #[test]
    fn what_it_cannot_read_it_says() {
        assert!(Pattern::compile("\\p{Greek}").is_err());
        assert!(Pattern::compile("(open").is_err());
        assert!(Pattern::compile("*").is_err());
    }
}
