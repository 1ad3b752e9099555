"""The public pages' two languages: a small dict of texts per language, labels for every code the
pages show, and numbers written as each language writes them (es 1.234,5; en 1,234.5)."""

import gettext
from dataclasses import dataclass
from functools import cache

import pycountry

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"

TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "site": "Pacta",
        "tagline": "Tablero público de acuerdos interinstitucionales",
        "overview_title": "Tablero público",
        "intro": "Acuerdos públicos (firmados) de municipios, estados y dependencias con contrapartes "
        "extranjeras: su situación, su registro ante la SRE y el avance verificado de sus metas.",
        "as_of": "Cifras al",
        "verified_only": "Los avances cuentan solo mediciones verificadas con evidencia.",
        "switch_language": "English",
        "filter_state": "Estado",
        "all_states": "Todos los estados",
        "apply": "Filtrar",
        "filtered_by": "Filtrado por estado:",
        "clear_filter": "Quitar filtro",
        "agreements": "Acuerdos públicos",
        "milestones_met": "Hitos cumplidos",
        "mean_attainment": "Logro medio de los hitos vencidos",
        "by_state": "Por estado",
        "by_status": "Por situación",
        "by_registration": "Por registro ante la SRE",
        "by_subject": "Por tema",
        "by_country": "Por país de la contraparte",
        "key_indicators": "Indicadores clave",
        "key_indicators_note": "Suma del último valor verificado de cada meta.",
        "indicator": "Indicador",
        "total": "Total",
        "targets": "Metas",
        "milestones": "Hitos",
        "milestones_note": "Hitos de 6, 12 y 24 meses evaluados hoy.",
        "due": "vencidos",
        "of": "de",
        "none_yet": "Sin datos todavía.",
        "no_state": "Sin estado",
        "latest_agreements": "Acuerdos firmados más recientes",
        "signed_on": "Firmado el",
        "agreement": "Acuerdo",
        "back": "Volver al tablero",
        "facts": "Datos del acuerdo",
        "instrument": "Instrumento",
        "status": "Situación",
        "registration_status": "Registro SRE",
        "signatory": "Firmante",
        "state": "Estado",
        "counterparts": "Contrapartes",
        "subject_areas": "Temas",
        "signed_place": "Lugar de firma",
        "entry_into_force_on": "Entrada en vigor",
        "expires_on": "Vence",
        "indefinite": "Indefinido",
        "languages": "Idiomas",
        "summary": "Resumen",
        "progress": "Metas y avance",
        "no_targets": "Este acuerdo aún no tiene metas.",
        "baseline": "Línea base",
        "latest": "Último valor verificado",
        "months": "Meses",
        "due_on": "Vence",
        "target": "Meta",
        "actual": "Real",
        "attainment": "Logro",
        "not_in_force": "sin vigencia",
        "evidence": "Evidencia aceptada",
        "no_evidence": "Sin evidencia aceptada.",
        "other_documents": "Otros documentos del acuerdo",
        "download": "Descargar",
        "provenance": "Procedencia",
        "inclusion_proof": "Prueba de inclusión",
        "log_entry": "Entrada del registro",
        "size": "Tamaño",
        "document_date": "Fecha",
        "sha256": "SHA-256",
        "not_found_title": "No encontrado",
        "not_found": "No existe un acuerdo público con ese identificador.",
        "not_found_state": "Ese estado no existe.",
        "api": "Datos abiertos (API)",
        "transparency_log": "Registro de transparencia",
        "chart": "Gráfica",
    },
    "en": {
        "site": "Pacta",
        "tagline": "Public dashboard of interinstitutional agreements",
        "overview_title": "Public dashboard",
        "intro": "Public (signed) agreements of municipalities, states and federal bodies with foreign "
        "counterparts: their status, their SRE registration and the verified progress of their targets.",
        "as_of": "Figures as of",
        "verified_only": "Progress counts only measurements verified with evidence.",
        "switch_language": "Español",
        "filter_state": "State",
        "all_states": "All states",
        "apply": "Filter",
        "filtered_by": "Filtered by state:",
        "clear_filter": "Clear filter",
        "agreements": "Public agreements",
        "milestones_met": "Milestones met",
        "mean_attainment": "Mean attainment of due milestones",
        "by_state": "By state",
        "by_status": "By status",
        "by_registration": "By SRE registration",
        "by_subject": "By subject area",
        "by_country": "By counterpart country",
        "key_indicators": "Key indicators",
        "key_indicators_note": "Sum of each target's latest verified value.",
        "indicator": "Indicator",
        "total": "Total",
        "targets": "Targets",
        "milestones": "Milestones",
        "milestones_note": "6, 12 and 24-month milestones evaluated today.",
        "due": "due",
        "of": "of",
        "none_yet": "No data yet.",
        "no_state": "No state",
        "latest_agreements": "Latest signed agreements",
        "signed_on": "Signed on",
        "agreement": "Agreement",
        "back": "Back to the dashboard",
        "facts": "Agreement facts",
        "instrument": "Instrument",
        "status": "Status",
        "registration_status": "SRE registration",
        "signatory": "Signatory",
        "state": "State",
        "counterparts": "Counterparts",
        "subject_areas": "Subject areas",
        "signed_place": "Place of signature",
        "entry_into_force_on": "Entry into force",
        "expires_on": "Expires",
        "indefinite": "Indefinite",
        "languages": "Languages",
        "summary": "Summary",
        "progress": "Targets and progress",
        "no_targets": "This agreement has no targets yet.",
        "baseline": "Baseline",
        "latest": "Latest verified value",
        "months": "Months",
        "due_on": "Due",
        "target": "Target",
        "actual": "Actual",
        "attainment": "Attainment",
        "not_in_force": "not in force",
        "evidence": "Accepted evidence",
        "no_evidence": "No accepted evidence.",
        "other_documents": "Other documents of the agreement",
        "download": "Download",
        "provenance": "Provenance",
        "inclusion_proof": "Inclusion proof",
        "log_entry": "Log entry",
        "size": "Size",
        "document_date": "Date",
        "sha256": "SHA-256",
        "not_found_title": "Not found",
        "not_found": "There is no public agreement with that id.",
        "not_found_state": "That state does not exist.",
        "api": "Open data (API)",
        "transparency_log": "Transparency log",
        "chart": "Chart",
    },
}

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "es": {
        "status": {
            "signed": "Firmado",
            "in_force": "En vigor",
            "suspended": "Suspendido",
            "expired": "Vencido",
            "withdrawn": "Retirado",
            "terminated": "Terminado",
        },
        "registration_status": {
            "pending": "Pendiente",
            "submitted": "En trámite",
            "registered": "Registrado",
            "rejected": "Rechazado",
            "not_applicable": "No aplica",
        },
        "subject_area": {
            "economic_development": "Desarrollo económico",
            "investment_promotion": "Promoción de inversiones",
            "trade": "Comercio",
            "tourism": "Turismo",
            "education": "Educación",
            "academic_exchange": "Intercambio académico",
            "culture": "Cultura",
            "sports": "Deporte",
            "health": "Salud",
            "public_security": "Seguridad pública",
            "environment": "Medio ambiente",
            "water": "Agua",
            "energy": "Energía",
            "mobility": "Movilidad",
            "logistics": "Logística",
            "urban_services": "Servicios urbanos",
            "technology_innovation": "Tecnología e innovación",
            "workforce_training": "Capacitación laboral",
            "social_assistance": "Asistencia social",
            "other": "Otro",
        },
        "indicator": {
            "companies_served": "Empresas atendidas",
            "investment_pipeline": "Cartera de inversión",
            "company_installations": "Instalaciones de empresas",
            "technical_exchanges": "Intercambios técnicos",
            "certified_trainings": "Capacitaciones certificadas",
            "technology_pilots": "Pilotos tecnológicos",
            "public_service_improvements": "Mejoras de servicios públicos",
            "jobs_created": "Empleos creados",
            "custom": "Otro indicador",
        },
        "milestone": {
            "scheduled": "Programado",
            "met": "Cumplido",
            "partially_met": "Cumplido en parte",
            "not_met": "No cumplido",
        },
        "instrument": {
            "sister_city": "Hermanamiento",
            "cooperation": "Cooperación",
            "memorandum": "Memorándum de entendimiento",
            "letter_of_intent": "Carta de intención",
            "other": "Otro",
        },
        "document_type": {
            "agreement_text": "Texto del acuerdo",
            "council_minutes": "Acta de cabildo",
            "sre_dictamen": "Dictamen de la SRE",
            "registration_certificate": "Constancia de registro",
            "progress_report": "Informe de avance",
            "attendance_list": "Lista de asistencia",
            "training_certificate": "Constancia de capacitación",
            "photo": "Fotografía",
            "invoice": "Factura",
            "press_release": "Comunicado de prensa",
            "other": "Otro",
        },
    },
    "en": {
        "status": {
            "signed": "Signed",
            "in_force": "In force",
            "suspended": "Suspended",
            "expired": "Expired",
            "withdrawn": "Withdrawn",
            "terminated": "Terminated",
        },
        "registration_status": {
            "pending": "Pending",
            "submitted": "Submitted",
            "registered": "Registered",
            "rejected": "Rejected",
            "not_applicable": "Not applicable",
        },
        "subject_area": {
            "economic_development": "Economic development",
            "investment_promotion": "Investment promotion",
            "trade": "Trade",
            "tourism": "Tourism",
            "education": "Education",
            "academic_exchange": "Academic exchange",
            "culture": "Culture",
            "sports": "Sports",
            "health": "Health",
            "public_security": "Public security",
            "environment": "Environment",
            "water": "Water",
            "energy": "Energy",
            "mobility": "Mobility",
            "logistics": "Logistics",
            "urban_services": "Urban services",
            "technology_innovation": "Technology and innovation",
            "workforce_training": "Workforce training",
            "social_assistance": "Social assistance",
            "other": "Other",
        },
        "indicator": {
            "companies_served": "Companies served",
            "investment_pipeline": "Investment pipeline",
            "company_installations": "Company installations",
            "technical_exchanges": "Technical exchanges",
            "certified_trainings": "Certified trainings",
            "technology_pilots": "Technology pilots",
            "public_service_improvements": "Public service improvements",
            "jobs_created": "Jobs created",
            "custom": "Other indicator",
        },
        "milestone": {
            "scheduled": "Scheduled",
            "met": "Met",
            "partially_met": "Partially met",
            "not_met": "Not met",
        },
        "instrument": {
            "sister_city": "Sister-city agreement",
            "cooperation": "Cooperation",
            "memorandum": "Memorandum of understanding",
            "letter_of_intent": "Letter of intent",
            "other": "Other",
        },
        "document_type": {
            "agreement_text": "Agreement text",
            "council_minutes": "Council minutes",
            "sre_dictamen": "SRE dictamen",
            "registration_certificate": "Registration certificate",
            "progress_report": "Progress report",
            "attendance_list": "Attendance list",
            "training_certificate": "Training certificate",
            "photo": "Photo",
            "invoice": "Invoice",
            "press_release": "Press release",
            "other": "Other",
        },
    },
}


def language(requested: str | None) -> str:
    """The page's language: `?lang=en` for English, Spanish otherwise."""
    wanted = (requested or "").strip().lower()
    return wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE


_SPANISH_SEPARATORS = str.maketrans(",.", ".,")


@cache
def _country_names(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


@dataclass(frozen=True, slots=True)
class Locale:
    """What templates read texts and numbers through: `t["key"]`, `t.label(kind, code)`, `t.num(x)`."""

    lang: str

    def __getitem__(self, key: str) -> str:
        return TEXTS[self.lang][key]

    def label(self, kind: str, code: str | None) -> str:
        if code is None:
            return "—"
        return LABELS[self.lang][kind].get(str(code), str(code))

    def country(self, code: str) -> str:
        found = pycountry.countries.get(alpha_2=code)
        if found is None:
            return code
        return _country_names(self.lang).gettext(str(found.name))

    def num(self, value: float | int | None, decimals: int = 2) -> str:
        """1.234,5 in Spanish, 1,234.5 in English; no trailing zeros."""
        if value is None:
            return "—"
        text = f"{value:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
        if self.lang == "es":
            text = text.translate(_SPANISH_SEPARATORS)
        return text

    def pct(self, fraction: float | None, decimals: int = 1) -> str:
        """A share as a percentage: 80,5 % in Spanish (a no-break space before %), 80.5% in English."""
        if fraction is None:
            return "—"
        number = self.num(fraction * 100, decimals)
        return f"{number}\u00a0%" if self.lang == "es" else f"{number}%"

    def amount(self, value: float | None, unit: str | None) -> str:
        number = self.num(value)
        return number if not unit or value is None else f"{number} {unit}"

    def size(self, size_bytes: int) -> str:
        if size_bytes < 1024:
            return f"{self.num(size_bytes)} B"
        if size_bytes < 1024 * 1024:
            return f"{self.num(size_bytes / 1024, 1)} KB"
        return f"{self.num(size_bytes / (1024 * 1024), 1)} MB"
