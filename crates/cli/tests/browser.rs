//! The admin pages in headless Chromium (Debian's `chromium` and `chromium-driver`), driven
//! over WebDriver by fantoccini against `registrar serve --demo`: what each demo person sees,
//! a bulk deactivation, an import with a bad row, a denial's missing link, a manager's report.
//! Screenshots of the main pages go to `docs/screenshots/` when `REGISTRAR_SCREENSHOTS` is set.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use common::{Scratch, Server};

const DEMO_ADMIN: &str = "demo-admin-password";
const DEMO_PERSON: &str = "demo-learner-password";

/// A chromedriver process and a headless Chromium session, closed when dropped.
struct Browser {
    client: Client,
    driver: Child,
    base: String,
}

impl Drop for Browser {
    /// Chromium outlives a killed chromedriver: the whole process group goes (chromedriver was
    /// started as its leader), so that no test leaves a browser running, even when it fails.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    async fn open(base: &str) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--no-first-run", "--window-size=1366,900"],
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            driver,
            base: base.to_owned(),
        }
    }

    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn login(&self, tenant: &str, user: &str, password: &str) {
        self.go("/login").await;
        for (id, value) in [
            ("tenant", tenant),
            ("username", user),
            ("password", password),
        ] {
            let field = self.client.find(Locator::Id(id)).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(value).await.unwrap();
        }
        self.click("login").await;
        self.wait_for("h1").await;
    }

    async fn logout(&self) {
        self.click("logout").await;
        self.wait_for("#login").await;
    }

    /// Clicks what leads to another page, and waits until that page replaced this one.
    async fn click(&self, id: &str) {
        let element = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"));
        self.follow(element).await;
    }

    /// Clicks `element` and waits for the next page: the old page's root goes stale.
    async fn follow(&self, element: fantoccini::elements::Element) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        element.click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click led to no new page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Follows the link whose text is `text`.
    async fn follow_link(&self, text: &str) {
        let link = self
            .client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"));
        self.follow(link).await;
    }

    /// Opens the profile of the first person the people list finds for `search`.
    async fn open_person(&self, search: &str) {
        self.go(&format!("/people?q={search}")).await;
        self.follow(self.wait_for("td.name a").await).await;
    }

    /// Clicks what changes this page in place (a checkbox, an htmx form).
    async fn press(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let page = self.client.source().await.unwrap_or_default();
                panic!("no {css}: {e}\n{page}")
            }
        }
    }

    /// Types `text` into the field `css` finds.
    async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css).await.send_keys(text).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    /// The section links of the page's header.
    async fn nav(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in self
            .client
            .find_all(Locator::Css("header nav a"))
            .await
            .unwrap()
        {
            out.push(a.text().await.unwrap());
        }
        out
    }

    /// Saves a screenshot of the page under `docs/screenshots/` when asked to.
    async fn shot(&self, name: &str) {
        if std::env::var_os("REGISTRAR_SCREENSHOTS").is_none() {
            return;
        }
        let png = self.client.screenshot().await.unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/screenshots");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

/// `registrar serve --demo` on a database of its own, and a browser on it; dropped in that
/// order (browser, server, then the scratch folder).
struct Demo {
    browser: Browser,
    _server: Server,
    scratch: Scratch,
}

impl Demo {
    async fn start(name: &str) -> Demo {
        let scratch = Scratch::new(name);
        let db = format!("sqlite://{}", scratch.dir.join("demo.db").display());
        let server = Server::start(&db, &scratch, &["--demo", "--insecure-cookies"]);
        let browser = Browser::open(&server.base).await;
        Demo {
            browser,
            _server: server,
            scratch,
        }
    }
}

#[tokio::test]
async fn each_demo_person_sees_what_their_preset_gives_and_nothing_else() {
    let demo = Demo::start("browser-roles").await;
    let b = &demo.browser;

    // The administrator: every section, and everyone.
    b.login("demo", "admin", DEMO_ADMIN).await;
    let nav = b.nav().await;
    for section in [
        "People",
        "Reports",
        "Explain access",
        "Access review",
        "Audit log",
        "Import",
    ] {
        assert!(nav.contains(&section.to_owned()), "{nav:?}");
    }
    let people = b.text("#people").await;
    for name in [
        "grace.hopper",
        "nina.north",
        "terry.tutor",
        "olaf.north",
        "ken.platform",
    ] {
        assert!(people.contains(name), "{name} missing for the admin");
    }
    b.shot("people").await;
    b.logout().await;

    // A manager: her team only, no review, no audit, no import.
    b.login("demo", "nina.north", DEMO_PERSON).await;
    let nav = b.nav().await;
    assert!(
        !nav.iter()
            .any(|s| s == "Access review" || s == "Audit log" || s == "Import"),
        "{nav:?}"
    );
    let people = b.text("#people").await;
    assert!(people.contains("olaf.north"), "{people}");
    assert!(
        !people.contains("ken.platform") && !people.contains("grace.hopper"),
        "{people}"
    );
    assert!(
        b.client.find(Locator::Id("bulk-deactivate")).await.is_err(),
        "a manager may not change statuses"
    );
    b.go("/audit").await;
    assert!(b.text("#problem").await.contains("audit.view"));
    b.go("/people").await;
    b.logout().await;

    // A course tutor: the people of his course, nothing to review.
    b.login("demo", "terry.tutor", DEMO_PERSON).await;
    let nav = b.nav().await;
    assert!(
        !nav.iter().any(|s| s == "Access review" || s == "Audit log"),
        "{nav:?}"
    );
    let people = b.text("#people").await;
    assert!(!people.contains("ken.platform"), "{people}");
    b.logout().await;

    // A learner manager: the tenant's learners and its teams in reports, no audit.
    b.login("mgmt-demo", "lou.lm", DEMO_PERSON).await;
    let people = b.text("#people").await;
    assert!(
        people.contains("pat.learner") && people.contains("sam.learner"),
        "{people}"
    );
    assert!(
        !b.nav()
            .await
            .iter()
            .any(|s| s == "Audit log" || s == "Access review")
    );
    b.go("/reports?by=team").await;
    let summary = b.text("#summary").await;
    assert!(
        summary.contains("Onboarding cohort") && summary.contains("Sales cohort"),
        "{summary}"
    );
    let rows = b.text("#rows").await;
    assert!(
        rows.contains("pat.learner") && rows.contains("TPS Reports 101"),
        "{rows}"
    );
    b.shot("reports-learner-manager").await;
}

#[tokio::test]
async fn an_administrator_deactivates_people_in_bulk_and_never_themselves() {
    let demo = Demo::start("browser-bulk").await;
    let b = &demo.browser;
    b.login("demo", "grace.hopper", DEMO_PERSON).await;
    // Her own row has no checkbox: nobody changes their own status.
    let own = b
        .client
        .find(Locator::Css("input[data-username='grace.hopper']"))
        .await;
    assert!(own.is_err(), "grace could select herself");
    for user in ["ada.mobile", "olaf.north"] {
        b.client
            .find(Locator::Css(&format!("input[data-username='{user}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    b.click("bulk-deactivate").await;
    assert_eq!(b.text(".notice").await, "2 people changed.");
    b.go("/people?status=deactivated").await;
    let people = b.text("#people").await;
    assert!(
        people.contains("ada.mobile") && people.contains("olaf.north"),
        "{people}"
    );
}

#[tokio::test]
async fn an_import_with_a_bad_row_shows_that_rows_error_and_changes_nothing() {
    let demo = Demo::start("browser-import").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    let file = demo.scratch.dir.join("people.csv");
    std::fs::write(
        &file,
        "username,email,display_name\nnew.one,new.one@example.com,New One\nbad one,not-an-email,Bad\n",
    )
    .unwrap();
    b.go("/import").await;
    b.shot("import").await;
    let input = b.wait_for("#import-file").await;
    input.send_keys(&file.display().to_string()).await.unwrap();
    b.press("import-apply").await;
    let refused = b.text("#refused").await;
    assert!(refused.contains('3'), "line 3 is the bad one: {refused}");
    assert!(b.text("#outcome h2").await.contains("Nothing was imported"));
    b.shot("import-refused").await;
    b.go("/people?q=new.one").await;
    assert!(b.text("#people").await.contains("Nobody matches"));
}

#[tokio::test]
async fn the_explain_page_shows_a_denials_missing_link_with_names() {
    let demo = Demo::start("browser-explain").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    // Terry tutors Selling Basics, not Rust for Platform Teams.
    b.go("/explain").await;
    let courses = b
        .client
        .find_all(Locator::Css("#objects option"))
        .await
        .unwrap();
    let mut rust = None;
    for o in courses {
        let label = o.prop("textContent").await.unwrap().unwrap_or_default();
        // The course itself, not one of its sessions or lessons ("... in Rust for ...").
        if label.starts_with("Rust for Platform Teams") && label.ends_with("(course)") {
            rust = o.attr("value").await.unwrap();
        }
    }
    let rust = rust.expect("the Rust course is offered");
    b.type_into("#explain-user", "terry.tutor").await;
    let action = b.wait_for("#explain-action").await;
    action.select_by_value("enrollments.approve").await.unwrap();
    b.type_into("#explain-object", &rust).await;
    b.click("explain").await;
    let answer = b.text("#answer").await;
    assert!(answer.starts_with("Denied"), "{answer}");
    let missing = b.text("#missing").await;
    assert!(
        missing.contains("Rust for Platform Teams"),
        "named, not only an id: {missing}"
    );
    b.shot("explain-denied").await;
}

#[tokio::test]
async fn a_managers_report_never_shows_a_person_outside_their_team() {
    let demo = Demo::start("browser-report").await;
    let b = &demo.browser;
    b.login("demo", "nina.north", DEMO_PERSON).await;
    b.go("/reports").await;
    let rows = b.text("#rows").await;
    assert!(rows.contains("olaf.north"), "{rows}");
    for outsider in ["ken.platform", "tomas.south", "grace.hopper"] {
        assert!(
            !rows.contains(outsider),
            "{outsider} in Nina's report: {rows}"
        );
    }
    b.shot("reports-manager").await;
    b.logout().await;
    b.shot("login").await;
    b.login("demo", "admin", DEMO_ADMIN).await;
    for (path, name) in [
        ("/reports?by=group", "reports"),
        ("/access-review", "access-review"),
        ("/audit", "audit"),
        ("/groups", "groups"),
        ("/courses", "courses"),
        ("/roles", "roles"),
    ] {
        b.go(path).await;
        b.wait_for("main h1").await;
        b.shot(name).await;
    }
    b.open_person("olaf.north").await;
    b.wait_for("#grant-form").await;
    b.shot("person").await;
}

#[tokio::test]
async fn a_course_tutor_sees_the_approve_button_and_a_course_administrator_does_not() {
    let demo = Demo::start("browser-approve").await;
    let b = &demo.browser;
    // Petra administers Selling Basics: she sees who is enrolled but cannot approve.
    b.login("demo", "petra.north", DEMO_PERSON).await;
    b.go("/courses").await;
    b.follow_link("Selling Basics").await;
    let list = b.text("#enrollments").await;
    assert!(
        list.contains("barbara.mobile") && list.contains("waiting"),
        "{list}"
    );
    assert!(
        b.client.find(Locator::Css("button.approve")).await.is_err(),
        "Petra may not approve"
    );
    b.logout().await;
    // Terry tutors it: he approves Barbara.
    b.login("demo", "terry.tutor", DEMO_PERSON).await;
    b.go("/courses").await;
    b.follow_link("Selling Basics").await;
    b.shot("course").await;
    b.follow(b.wait_for("button.approve").await).await;
    assert!(b.text(".notice").await.contains("Approved"), "no approval");
    assert!(b.client.find(Locator::Css("button.approve")).await.is_err());
}

#[tokio::test]
async fn a_learner_manager_creates_fills_and_deletes_a_team_and_reads_the_others() {
    let demo = Demo::start("browser-teams").await;
    let b = &demo.browser;
    b.login("mgmt-demo", "lou.lm", DEMO_PERSON).await;
    b.go("/groups").await;
    b.type_into("#team-name", "Company A Team").await;
    b.click("create-team").await;
    b.type_into("#add-user", "sam.learner").await;
    b.click("add").await;
    assert!(b.text("#members").await.contains("sam.learner"));
    b.shot("team").await;
    // Lisa's team is readable, not editable.
    b.go("/groups").await;
    b.follow_link("Sales cohort").await;
    assert!(b.text("#members").await.contains("pat.learner"));
    assert!(
        b.client.find(Locator::Id("add-member")).await.is_err(),
        "Lou may not fill Lisa's team"
    );
    assert!(b.client.find(Locator::Id("delete-team")).await.is_err());
    // Her own is hers to delete.
    b.go("/groups").await;
    b.follow_link("Company A Team").await;
    b.click("delete-team").await;
    b.wait_for("#teams").await;
    assert!(!b.text("#teams").await.contains("Company A Team"));
}

#[tokio::test]
async fn the_role_matrix_refuses_an_edit_that_gives_more_than_the_editor_holds() {
    let demo = Demo::start("browser-roles").await;
    let b = &demo.browser;
    // Hana, a training coordinator, edits roles but holds no system configuration.
    b.login("demo", "hana.hr", DEMO_PERSON).await;
    b.go("/roles/student").await;
    b.shot("role").await;
    b.wait_for("input[value='system.configure:tenant']")
        .await
        .click()
        .await
        .unwrap();
    b.click("save-role").await;
    let problem = b.text("#problem").await;
    assert!(problem.contains("system.configure"), "{problem}");
    let cell = b.wait_for("input[value='system.configure:tenant']").await;
    assert!(!cell.is_selected().await.unwrap(), "nothing was saved");
}

#[tokio::test]
async fn settings_and_a_persons_details_are_changed_through_the_apis_rules() {
    let demo = Demo::start("browser-settings").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    // A template without the password is refused, naming what is missing.
    b.go("/settings").await;
    b.shot("settings").await;
    let body = b.wait_for("#app-settings textarea").await;
    body.clear().await.unwrap();
    body.send_keys("Hello {name}, log in as {username}")
        .await
        .unwrap();
    b.follow(b.wait_for("#app-settings button").await).await;
    assert!(b.text("#problem").await.contains("{password}"));
    // Moving an expired contractor's last day restores him.
    b.open_person("carl.contractor").await;
    let day = b.wait_for("#edit-person input[name='expires_on']").await;
    day.send_keys("12312099").await.unwrap();
    b.click("save-person").await;
    assert_eq!(b.text(".notice").await, "Saved.");
    let details = b.text("dl.details").await;
    assert!(
        details.contains("activated") && details.contains("2099-12-31"),
        "{details}"
    );
}

#[tokio::test]
async fn the_learner_app_tab_switches_access_and_greys_the_invitation_without_a_template() {
    let demo = Demo::start("browser-app").await;
    let b = &demo.browser;
    // Northwind has a template and "access on sends the invitation".
    b.login("demo", "admin", DEMO_ADMIN).await;
    b.open_person("ken.platform").await;
    b.press("app-on").await;
    b.click("save-app").await;
    assert!(b.text(".notice").await.contains("invitation is on its way"));
    b.shot("person-app").await;
    b.go("/people").await;
    b.logout().await;
    // Globex has no template: the button is greyed, with the reason.
    b.login("levels-demo", "admin", DEMO_ADMIN).await;
    b.open_person("lea.learner").await;
    let button = b.wait_for("#send-invitation").await;
    assert!(!button.is_enabled().await.unwrap());
    assert!(b.text("#no-template").await.contains("template"));
}

#[tokio::test]
async fn a_tutor_approves_a_booking_and_marks_attendance_and_moves_an_enrollment() {
    let demo = Demo::start("browser-sessions").await;
    let b = &demo.browser;
    // Tessa tutors Rust for Platform Teams: Ken's booking awaits her approval.
    b.login("demo", "tessa.tutor", DEMO_PERSON).await;
    b.go("/courses").await;
    b.follow_link("Rust for Platform Teams").await;
    b.follow(b.wait_for("button.approve-booking").await).await;
    assert!(
        b.text(".notice").await.starts_with("Booking"),
        "no booking approval"
    );
    b.shot("course-sessions").await;
    // A status moved by hand, among those the engine offers her.
    let select = b.wait_for("#enrollments select").await;
    select.select_by_value("suspended").await.unwrap();
    b.follow(
        b.client
            .find(Locator::Css("#enrollments form button"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b.text(".notice").await, "Now suspended.");
}

#[tokio::test]
async fn an_administrator_creates_a_role_from_scratch_and_fills_its_matrix() {
    let demo = Demo::start("browser-new-role").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    b.go("/roles").await;
    b.type_into("#new-role-code", "regional-trainer").await;
    b.type_into("#new-role-name", "Regional Trainer").await;
    b.wait_for("#new-role input[value='group']")
        .await
        .click()
        .await
        .unwrap();
    b.click("create-role").await;
    assert!(b.text("h1").await.contains("Regional Trainer"));
    b.wait_for("input[value='courses.view:assigned']")
        .await
        .click()
        .await
        .unwrap();
    b.click("save-role").await;
    assert_eq!(b.text(".notice").await, "Role saved.");
    assert!(
        b.wait_for("input[value='courses.view:assigned']")
            .await
            .is_selected()
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_administrator_creates_a_nested_group_and_makes_it_public() {
    let demo = Demo::start("browser-groups").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    b.go("/groups").await;
    b.type_into("#group-name", "Sales West").await;
    b.wait_for("#group-form select")
        .await
        .select_by_label("Sales")
        .await
        .unwrap();
    b.click("create-group").await;
    assert_eq!(b.text("h1").await, "Sales West");
    assert!(b.text("dl.details").await.contains("Sales"));
    b.wait_for("#group-edit input[name='public']")
        .await
        .click()
        .await
        .unwrap();
    b.follow(b.wait_for("#group-edit button").await).await;
    assert!(b.text("dl.details").await.contains("public"));
    b.type_into("#add-user", "olaf.north").await;
    b.click("add").await;
    assert!(b.text("#members").await.contains("olaf.north"));
    b.shot("group").await;
}

#[tokio::test]
async fn a_very_long_name_wraps_instead_of_breaking_the_pages() {
    let demo = Demo::start("browser-long").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    let long = "Maximiliana Alexandrovna Konstantinopoulou-Featherstonehaugh-Wolfeschlegelsteinhausenbergerdorff von Hohenzollern-Sigmaringen";
    b.open_person("uma.south").await;
    let name = b.wait_for("#edit-person input[name='display_name']").await;
    name.clear().await.unwrap();
    name.send_keys(long).await.unwrap();
    b.click("save-person").await;
    assert_eq!(b.text("h1").await, long);
    b.shot("person-long-name").await;
    b.go("/people?q=south").await;
    assert!(b.text("#people").await.contains(long));
    b.shot("people-long-name").await;
    // The page is no wider than the window: the name wraps.
    let width = b
        .client
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap() <= 1366,
        "the page scrolls sideways: {width}"
    );
    // Sorted by name, the list is in the order of the names.
    b.go("/people?sort=name").await;
    let mut names = Vec::new();
    for cell in b.client.find_all(Locator::Css("td.name")).await.unwrap() {
        names.push(cell.text().await.unwrap());
    }
    // Without case or accents: Émile Durand sits among the E's, not after Z.
    let key = |n: &String| {
        registrar_domain::text::Name::parse("name", n)
            .unwrap()
            .sort_key()
    };
    let mut sorted = names.clone();
    sorted.sort_by_key(key);
    assert_eq!(names, sorted);
    assert!(names.len() > 10);
    let at = |name: &str| names.iter().position(|n| n == name).unwrap();
    assert!(at("Émile Durand") < at("Grace Hopper"), "{names:?}");
}

#[tokio::test]
async fn an_administrator_creates_a_policy_and_attaches_it_to_a_group() {
    let demo = Demo::start("browser-policy").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    b.go("/roles").await;
    b.type_into("#policy-name", "Regional trainers").await;
    b.wait_for("#new-policy select")
        .await
        .select_by_value("tutor")
        .await
        .unwrap();
    b.click("create-policy").await;
    assert_eq!(b.text(".notice").await, "Policy created.");
    let policies = b.text("main").await;
    assert!(
        policies.contains("Regional trainers") && policies.contains("Tutor at platform"),
        "{policies}"
    );
    // Attached to Tutors, it gives its members the role.
    let section = b
        .client
        .find(Locator::XPath("//section[h3='Regional trainers']"))
        .await
        .unwrap();
    section
        .find(Locator::Css("select[name='principal']"))
        .await
        .unwrap()
        .select_by_label("Tutors")
        .await
        .unwrap();
    let attach = section.find(Locator::Css("button")).await.unwrap();
    b.follow(attach).await;
    assert_eq!(b.text(".notice").await, "Policy attached.");
}

/// Scrolls to the end of the page, for a screenshot of its bottom.
async fn scroll_to_end(b: &Browser) {
    b.client
        .execute("window.scrollTo(0, document.body.scrollHeight);", vec![])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_thousand_people_are_imported_with_progress_and_fill_the_lists_and_the_report() {
    let demo = Demo::start("browser-thousand").await;
    let b = &demo.browser;
    b.login("demo", "admin", DEMO_ADMIN).await;
    // Engineering: Security Awareness is deployed to it, so each newcomer is enrolled.
    b.go("/groups").await;
    let engineering = b
        .client
        .find(Locator::LinkText("Engineering"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .expect("the demo has Engineering");
    let group = engineering.trim_start_matches("/groups/").to_owned();
    let mut csv = String::from("username,email,display_name,primary_group\n");
    for i in 1..=1000 {
        csv.push_str(&format!(
            "eng.{i:04},eng.{i:04}@example.com,Engineer {i:04},{group}\n"
        ));
    }
    let file = demo.scratch.dir.join("thousand.csv");
    std::fs::write(&file, csv).unwrap();
    b.go("/import").await;
    let input = b.wait_for("#import-file").await;
    input.send_keys(&file.display().to_string()).await.unwrap();
    b.press("import-apply").await;
    // The job's progress comes first, whatever its pace; then its outcome replaces it.
    let progress = b.text("#import-running").await;
    assert!(progress.contains("Checking and importing"), "{progress}");
    b.shot("import-progress").await;
    let counts = b.text("#counts").await;
    assert!(counts.starts_with("1000 rows: 1000 to create"), "{counts}");
    assert_eq!(b.text("#outcome h2").await, "Imported");

    b.go(&format!("/people?group={group}")).await;
    let people = b.text("#people").await;
    assert!(people.contains("Engineer 0001"), "{people}");
    assert!(b.text(".pager").await.contains("Next"));
    b.shot("people-thousand").await;
    b.go(&engineering).await;
    assert!(b.text("#more-members").await.contains("the people list"));
    b.go(&format!("/reports?group={group}")).await;
    let heading = b.text("#enrollments-heading").await;
    let shown: usize = heading
        .trim_start_matches("Enrollments (")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!(shown >= 1000, "{heading}");
    let rows = b
        .client
        .find_all(Locator::Css("#rows tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), shown.min(1000));
    // The chart was drawn (a failed one shows only its alternative text).
    b.wait_for(".chart img").await;
    let mut drawn = 0;
    for _ in 0..200 {
        drawn = b
            .client
            .execute(
                "return document.querySelector('.chart img').naturalWidth;",
                vec![],
            )
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(0);
        if drawn > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(drawn > 0, "the report's chart did not load");
    b.shot("reports-thousand").await;
    scroll_to_end(b).await;
    b.shot("reports-thousand-end").await;
}
