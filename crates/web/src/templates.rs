//! Template sets: built-in files first replaced by a shop's own file of the same name.

use minijinja::{AutoEscape, Environment};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Built-in templates: `(file name, text)`, compiled into the binary.
pub type TemplateSet = &'static [(&'static str, &'static str)];

/// A minijinja environment over `built_in`, where a file of the same name in
/// `override_dir` wins. HTML files are escaped; text files (emails) are not.
pub fn environment(built_in: TemplateSet, override_dir: Option<PathBuf>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_loader(move |name| {
        if let Some(dir) = &override_dir
            && let Some(text) = read_override(dir, name)
        {
            return Ok(Some(text));
        }
        Ok(built_in
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| (*t).to_string()))
    });
    env
}

fn read_override(dir: &Path, name: &str) -> Option<String> {
    // Names are ours, but never let one reach outside the directory.
    if name.contains("..") || name.contains('/') || name.contains('\\') {
        return None;
    }
    std::fs::read_to_string(dir.join(name)).ok()
}

/// A URL from configuration as a template value: escaped for an attribute, but its `/`
/// left alone (the engine's own escaping writes `&#x2f;`, which is correct but unreadable).
pub fn url_value(url: &str) -> minijinja::Value {
    minijinja::Value::from_safe_string(
        url.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
    )
}

/// `& < > " '` escaped for HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML templates of one area of pages (`store`, `admin`), ready to render.
#[derive(Clone)]
pub struct Pages {
    env: Arc<Environment<'static>>,
}

impl Pages {
    /// `area` names the override directory: `<data_dir>/templates/<area>/`. `globals`
    /// are values every template sees (the shop's name, its URL).
    pub fn new(
        built_in: TemplateSet,
        data_dir: &Path,
        area: &str,
        globals: &[(&str, minijinja::Value)],
    ) -> Self {
        let mut env = environment(built_in, Some(data_dir.join("templates").join(area)));
        // The engine's own escaping also writes `/` as `&#x2f;`: correct, but it makes
        // every URL in a page (canonical links, sitemaps read from pages) unreadable.
        // `& < > " '` are what HTML needs escaped.
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), AutoEscape::Html)
                && !value.is_safe()
                && let Some(text) = value.as_str()
            {
                return out.write_str(&escape_html(text)).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "writing a page")
                });
            }
            minijinja::escape_formatter(out, state, value)
        });
        // Asset URLs are ours, not user input: unescaped, so `/` stays `/`.
        env.add_function("asset", |name: &str| {
            minijinja::Value::from_safe_string(crate::assets::url(name))
        });
        for (key, value) in globals {
            env.add_global(key.to_string(), value.clone());
        }
        Self { env: Arc::new(env) }
    }

    /// Renders template `name` as a private page (no cache, no index). A template that
    /// fails (a shop's own, with a mistake) is logged and the visitor gets a short error
    /// page rather than a bare failure.
    pub fn private_page(
        &self,
        status: axum::http::StatusCode,
        name: &str,
        context: &serde_json::Value,
    ) -> crate::Page {
        match self.render(name, context) {
            Ok(html) => crate::Page::private(status, html),
            Err(err) => {
                tracing::error!(template = name, error = %err, "a page template failed to render");
                crate::Page::private(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>This page could not be shown. \
                     Please try again later.</p>"
                        .to_string(),
                )
            }
        }
    }

    /// Renders template `name` with `context`.
    pub fn render(
        &self,
        name: &str,
        context: &serde_json::Value,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: TemplateSet = &[("hello.html", "<p>{{ who }}</p>"), ("hi.txt", "{{ who }}")];

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let env = environment(SET, None);
        let ctx = serde_json::json!({"who": "<b>Ada</b>"});
        let html = env.get_template("hello.html").and_then(|t| t.render(&ctx));
        assert_eq!(
            html.ok().as_deref(),
            Some("<p>&lt;b&gt;Ada&lt;&#x2f;b&gt;</p>")
        );
        let text = env.get_template("hi.txt").and_then(|t| t.render(&ctx));
        assert_eq!(text.ok().as_deref(), Some("<b>Ada</b>"));
    }

    #[test]
    fn an_override_file_wins_and_cannot_escape_its_directory() {
        let dir = std::env::temp_dir().join(format!("emporium-web-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        std::fs::write(dir.join("hello.html"), "<i>{{ who }}</i>").ok();
        let env = environment(SET, Some(dir.clone()));
        let ctx = serde_json::json!({"who": "Ada"});
        let html = env.get_template("hello.html").and_then(|t| t.render(&ctx));
        assert_eq!(html.ok().as_deref(), Some("<i>Ada</i>"));
        assert!(read_override(&dir, "../etc/passwd").is_none());
        std::fs::remove_dir_all(&dir).ok();
    }
}
