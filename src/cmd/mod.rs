//! One file per command; [`dispatch`] hands the parsed command tree to them.

mod completion;
mod context;
mod history;
mod init;
mod library;
mod login;
mod logout;
mod profile;
mod push;
mod release;
mod resources;
mod run;
mod show;
mod source;
mod status;
mod token;
mod whoami;

use crate::cli::{
    CliCommand, Command, EnvironmentsCommand, Invocation, LibraryCommand, OrgsCommand,
    ProjectsCommand, SourceCommand,
};
use mycli::app::App;
use mycli::error::Result;

pub(crate) fn dispatch(invocation: Invocation) -> Result<()> {
    if let Invocation::TopHelp(text) = &invocation {
        run::top_help(text);
        return Ok(());
    }
    let app = App::new()?;
    let args = match invocation {
        Invocation::Builtin(args) => args,
        Invocation::TopHelp(_) => return Ok(()),
        Invocation::Library(words) => return run::library(&app, words),
    };
    match args.command {
        Command::Cli(cli) => match cli.command {
            CliCommand::Login(a) => login::run(&app, a),
            CliCommand::Logout(a) => logout::run(&app, a),
            CliCommand::Whoami(a) => whoami::run(&app, a),
            CliCommand::Status(a) => status::run(&app, a),
            CliCommand::Token(a) => token::run(&app, a),
            CliCommand::Profile(a) => profile::run(&app, a),
            CliCommand::Push(a) => push::run(&app, a),
            CliCommand::Init(a) => init::run(a),
            CliCommand::Run(a) => run::run(&app, a),
            CliCommand::History(a) => history::run(&app, a),
            CliCommand::Show(a) => show::run(&app, a),
        },
        Command::Use(a) => context::run(&app, a),
        Command::Completion(a) => completion::run(&app, a),
        Command::Orgs(o) => match o.command {
            OrgsCommand::List(a) => resources::orgs(&app, a),
        },
        Command::Projects(p) => match p.command {
            ProjectsCommand::List(a) => resources::projects(&app, a),
        },
        Command::Environments(e) => match e.command {
            EnvironmentsCommand::List(a) => resources::environments(&app, a),
        },
        Command::Logs(a) => resources::logs(&app, a),
        Command::Library(l) => match l.command {
            LibraryCommand::Install(a) => library::install(&app, a),
            LibraryCommand::Uninstall(a) => library::uninstall(&app, a),
            LibraryCommand::List(a) => library::list(&app, a),
            LibraryCommand::Search(a) => library::search(&app, a),
            LibraryCommand::Info(a) => library::info(&app, a),
            LibraryCommand::Sync(a) => library::sync(&app, a),
            LibraryCommand::Release(a) => release::run(&app, a),
        },
        Command::Source(s) => match s.command {
            SourceCommand::Add(a) => source::add(&app, a),
            SourceCommand::List(a) => source::list(&app, a),
            SourceCommand::Update(a) => source::update(&app, a),
            SourceCommand::Remove(a) => source::remove(&app, a),
        },
    }
}
