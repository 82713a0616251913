"""Văn bản đi: the agency's documents (``/outgoing``, with search), the upload
(``/outgoing/new``) and a document's page (``/documents/<id>``) — through the services the
API calls (documents, document_search, attachments)."""
from __future__ import annotations

from typing import Any, BinaryIO, cast

from flask import Response, flash, render_template, request, send_file
from werkzeug.datastructures import FileStorage

from errors import ServiceError, Unprocessable
from exchange.domain.enums import Role
from exchange.http.auth import services
from exchange.http.errors import status_of
from exchange.http.web import actions, forms
from exchange.http.web.pages import caller, page, see_other, text
from exchange.http.web.routes import bp
from exchange.services import attachments, document_search, documents, previews
from exchange.domain.numbers import whole_number
from translations import _l

PAGE_SIZE = 50
DOC_TYPES = ("Công văn", "Quyết định", "Tờ trình", "Báo cáo", "Thông báo", "Kế hoạch", "Giấy mời", "Chỉ thị")


@bp.get("/outgoing")
@page()
def outgoing() -> Any:
    form = forms.SearchForm(request.args)
    after = request.args.get("after", "0")
    filters = document_search.DocumentFilters(q=(form.q.data or "").strip(), state=form.state.data or None,
                                              urgency=form.urgency.data or None)
    found: dict[str, Any] = {"items": [], "next_cursor": None}
    error: Any = None if form.validate() else _l("invalid input")
    if error is None:
        try:
            found = document_search.search_page(services(), caller(), filters,
                                                after=whole_number(after) or 0, limit=PAGE_SIZE)
        except ServiceError as exc:
            error = exc.message
    return render_template("web/outgoing.html", form=form, found=found, error=error,
                           may_upload=Role.CLERK in caller().roles), 422 if error else 200


def _field_errors(exc: ServiceError) -> dict[str, Any]:
    """The refusal's per-field messages under the form's names (the API's ``metadata.x`` → ``x``)."""
    return {name.removeprefix("metadata."): message for name, message in (exc.fields or {}).items()}


def _check_attachment_names(files: list[FileStorage]) -> None:
    """Before anything is stored: every attachment has a name, and no two the same."""
    seen: set[str] = set()
    for file in files:
        name = attachments.clean_name(file.filename).casefold()
        if name in seen:
            raise Unprocessable(_l("two attachments have the same name"),
                                fields={"attachments": _l("the document already has an attachment named %(name)s",
                                                          name=file.filename or "")})
        seen.add(name)


@bp.route("/outgoing/new", methods=["GET", "POST"], endpoint="outgoing_new")
@page(Role.CLERK)
def outgoing_new() -> Any:
    form = forms.UploadForm()
    status, error, field_errors = 200, None, {}
    if request.method == "POST":
        chosen = [f for f in (form.attachments.data or []) if isinstance(f, FileStorage) and f.filename]
        try:
            metadata = documents.parse_metadata(form.metadata())
            if not form.validate_on_submit():
                raise forms.invalid(form)
            _check_attachment_names(chosen)
            for file in chosen:  # refused before the document exists, not after it
                try:
                    attachments.check_file(services(), cast(BinaryIO, file.stream))
                except ServiceError as exc:
                    raise Unprocessable(_l("the attachment %(name)s was refused: %(reason)s", name=file.filename or "",
                                           reason=exc.message), fields={"attachments": exc.message}) from None
            body = documents.upload(services(), caller(), form.file.data.stream, metadata)
        except ServiceError as exc:
            status, error, field_errors = status_of(exc), exc.message, _field_errors(exc)
        else:
            for file in chosen:
                try:
                    attachments.add_attachment(services(), caller(), body["id"], cast(BinaryIO, file.stream),
                                               file.filename, file.mimetype)
                except ServiceError as exc:  # the document stays a draft: the attachment can be added again
                    flash(text(_l("the attachment %(name)s was refused: %(reason)s", name=file.filename or "",
                                  reason=exc.message)), "error")
            return see_other("web.document", document_id=body["id"])
    return render_template("web/outgoing_new.html", form=form, error=error, field_errors=field_errors,
                           doc_types=DOC_TYPES), status


@bp.get("/documents/<int:document_id>")
@page()
def document(document_id: int) -> Any:
    d = documents.get_document(services(), caller(), document_id)
    latest = d["revisions"][-1]["seq"]
    shown = previews.previews(services(), caller(), document_id, latest)
    pages = range(1, min(shown.pages, previews.MAX_PAGES) + 1)
    return actions.render_document(d, shown=shown, pages=pages)


@bp.get("/documents/<int:document_id>/revisions/<int:seq>/pages/<int:page_number>.png")
@page()
def page_image(document_id: int, seq: int, page_number: int) -> Response:
    png = previews.page_image(services(), caller(), document_id, seq, page_number)
    answer = send_file(png, mimetype="image/png", max_age=3600, etag=True)  # a revision never changes
    answer.cache_control.public = False
    answer.cache_control.private = True  # an agency's page: kept by the reader's browser, no shared cache
    return answer
