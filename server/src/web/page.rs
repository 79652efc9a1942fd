//! What every page's layout needs: its title, the signed-in person, the navigation, the assets.

use super::assets::{self, Assets};
use super::session::WebUser;

/// The part of the service a page belongs to (the navigation marks it current).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Portfolio,
    Pilotage,
    Agenda,
    Notifications,
    Archives,
    Transfers,
    None,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// A link of the breadcrumb, above the page's own name.
pub struct Crumb {
    pub href: String,
    pub label: String,
}

pub struct PageUser {
    pub name: String,
    pub csrf: String,
}

pub struct Page {
    /// The page's name; the `<title>` adds the service's.
    pub title: String,
    pub user: Option<PageUser>,
    pub nav: Vec<NavItem>,
    /// The live-update stream the page follows, if it shows plans.
    pub live: Option<String>,
    /// The breadcrumb's links (the page's own name ends it); none on the top pages.
    pub crumbs: Vec<Crumb>,
    pub assets: &'static Assets,
}

impl Page {
    /// A page of a signed-in adviser.
    pub fn new(user: &WebUser, title: impl Into<String>, section: Section) -> Page {
        let mut nav = vec![
            NavItem { href: "/portefeuille", label: "Portefeuille", current: section == Section::Portfolio },
            NavItem { href: "/pilotage", label: "Pilotage", current: section == Section::Pilotage },
            NavItem { href: "/agenda", label: "Agenda", current: section == Section::Agenda },
            NavItem { href: "/notifications", label: "Notifications", current: section == Section::Notifications },
            NavItem { href: "/archives", label: "Archives", current: section == Section::Archives },
        ];
        if user.is_supervisor() {
            nav.push(NavItem {
                href: "/reaffectation",
                label: "Réaffectation",
                current: section == Section::Transfers,
            });
        }
        Page {
            title: title.into(),
            user: Some(PageUser { name: user.full_name(), csrf: user.csrf.clone() }),
            nav,
            live: None,
            crumbs: Vec::new(),
            assets: assets::current(),
        }
    }

    /// A page shown signed out (sign-in, errors).
    pub fn public(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            user: None,
            nav: Vec::new(),
            live: None,
            crumbs: Vec::new(),
            assets: assets::current(),
        }
    }

    /// Under the portfolio.
    pub fn in_portfolio(mut self) -> Page {
        self.crumbs.push(Crumb { href: "/portefeuille".into(), label: "Portefeuille".into() });
        self
    }

    /// Under a young person's file (and the portfolio).
    pub fn in_file(self, young_person_id: uuid::Uuid, name: &str) -> Page {
        let mut page = self.in_portfolio();
        page.crumbs.push(Crumb { href: format!("/beneficiaires/{young_person_id}"), label: name.to_owned() });
        page
    }

    pub fn live(mut self, stream: impl Into<String>) -> Page {
        self.live = Some(stream.into());
        self
    }

    /// The session's CSRF token, for the page's forms ("" when signed out).
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map(|u| u.csrf.as_str()).unwrap_or("")
    }
}
