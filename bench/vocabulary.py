"""Words and places the generated data set is made of: real foreign cities, Spanish phrasing.

Counterpart countries are weighted like app/demo/data/sister_cities_mx.csv (the real pairs: mostly
the United States, then Spain, Central and South America, Canada, Germany...), broadened with the
other partners Mexican municipalities and states are known to twin with (China, Japan, Korea,
France, Italy, Cuba...), so every country filter has something to find.
"""

from app.models.agreements import Instrument, SubjectArea

# country -> (weight, counterpart name template, languages, [(city, region)])
COUNTRIES: dict[str, tuple[int, str, tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "US": (
        55,
        "City of {city}",
        ("es", "en"),
        (
            ("San Antonio", "Texas"),
            ("Laredo", "Texas"),
            ("El Paso", "Texas"),
            ("Houston", "Texas"),
            ("Dallas", "Texas"),
            ("Austin", "Texas"),
            ("McAllen", "Texas"),
            ("Brownsville", "Texas"),
            ("Los Angeles", "California"),
            ("San Diego", "California"),
            ("San Jose", "California"),
            ("Sacramento", "California"),
            ("Fresno", "California"),
            ("Chula Vista", "California"),
            ("Phoenix", "Arizona"),
            ("Tucson", "Arizona"),
            ("Yuma", "Arizona"),
            ("Albuquerque", "New Mexico"),
            ("Las Cruces", "New Mexico"),
            ("Chicago", "Illinois"),
            ("Denver", "Colorado"),
            ("Salt Lake City", "Utah"),
            ("Las Vegas", "Nevada"),
            ("Seattle", "Washington"),
            ("Portland", "Oregon"),
            ("Atlanta", "Georgia"),
            ("Miami", "Florida"),
            ("Orlando", "Florida"),
            ("New Orleans", "Louisiana"),
            ("Kansas City", "Missouri"),
            ("Omaha", "Nebraska"),
            ("Minneapolis", "Minnesota"),
            ("Milwaukee", "Wisconsin"),
            ("Detroit", "Michigan"),
            ("Charlotte", "North Carolina"),
            ("Nashville", "Tennessee"),
            ("Oklahoma City", "Oklahoma"),
            ("Wichita", "Kansas"),
            ("Des Moines", "Iowa"),
            ("Boise", "Idaho"),
        ),
    ),
    "ES": (
        7,
        "Ayuntamiento de {city}",
        ("es",),
        (
            ("Madrid", "Comunidad de Madrid"),
            ("Sevilla", "Andalucía"),
            ("Granada", "Andalucía"),
            ("Málaga", "Andalucía"),
            ("Cádiz", "Andalucía"),
            ("Valencia", "Comunitat Valenciana"),
            ("Barcelona", "Cataluña"),
            ("Zaragoza", "Aragón"),
            ("Salamanca", "Castilla y León"),
            ("Valladolid", "Castilla y León"),
            ("Santiago de Compostela", "Galicia"),
            ("Oviedo", "Asturias"),
            ("Bilbao", "País Vasco"),
            ("Toledo", "Castilla-La Mancha"),
            ("Mérida", "Extremadura"),
        ),
    ),
    "CA": (
        4,
        "City of {city}",
        ("es", "en", "fr"),
        (
            ("Toronto", "Ontario"),
            ("Montréal", "Québec"),
            ("Vancouver", "British Columbia"),
            ("Calgary", "Alberta"),
            ("Winnipeg", "Manitoba"),
            ("Québec", "Québec"),
            ("Ottawa", "Ontario"),
            ("Edmonton", "Alberta"),
        ),
    ),
    "DE": (
        3,
        "Stadt {city}",
        ("es", "de"),
        (
            ("Berlin", "Berlin"),
            ("München", "Bayern"),
            ("Hamburg", "Hamburg"),
            ("Köln", "Nordrhein-Westfalen"),
            ("Frankfurt am Main", "Hessen"),
            ("Stuttgart", "Baden-Württemberg"),
            ("Wolfsburg", "Niedersachsen"),
            ("Dresden", "Sachsen"),
        ),
    ),
    "GT": (
        3,
        "Municipalidad de {city}",
        ("es",),
        (
            ("Guatemala", "Guatemala"),
            ("Quetzaltenango", "Quetzaltenango"),
            ("Antigua Guatemala", "Sacatepéquez"),
            ("Huehuetenango", "Huehuetenango"),
            ("Escuintla", "Escuintla"),
        ),
    ),
    "CN": (
        3,
        "Gobierno Popular de {city}",
        ("es", "zh"),
        (
            ("Shanghái", "Shanghái"),
            ("Pekín", "Pekín"),
            ("Cantón", "Guangdong"),
            ("Shenzhen", "Guangdong"),
            ("Chengdú", "Sichuan"),
            ("Nankín", "Jiangsu"),
            ("Xi'an", "Shaanxi"),
        ),
    ),
    "JP": (
        2,
        "Ciudad de {city}",
        ("es", "ja"),
        (
            ("Osaka", "Osaka"),
            ("Nagoya", "Aichi"),
            ("Kioto", "Kioto"),
            ("Yokohama", "Kanagawa"),
            ("Kobe", "Hyōgo"),
            ("Hiroshima", "Hiroshima"),
        ),
    ),
    "KR": (
        2,
        "Ciudad Metropolitana de {city}",
        ("es", "ko"),
        (("Seúl", "Seúl"), ("Busán", "Busán"), ("Incheon", "Incheon")),
    ),
    "FR": (
        2,
        "Ville de {city}",
        ("es", "fr"),
        (
            ("Paris", "Île-de-France"),
            ("Lyon", "Auvergne-Rhône-Alpes"),
            ("Marseille", "Provence-Alpes-Côte d'Azur"),
            ("Toulouse", "Occitanie"),
            ("Bordeaux", "Nouvelle-Aquitaine"),
        ),
    ),
    "IT": (
        2,
        "Comune di {city}",
        ("es", "it"),
        (
            ("Roma", "Lazio"),
            ("Milano", "Lombardia"),
            ("Firenze", "Toscana"),
            ("Napoli", "Campania"),
            ("Torino", "Piemonte"),
        ),
    ),
    "CO": (
        2,
        "Alcaldía de {city}",
        ("es",),
        (
            ("Bogotá", "Bogotá D.C."),
            ("Medellín", "Antioquia"),
            ("Cali", "Valle del Cauca"),
            ("Cartagena de Indias", "Bolívar"),
            ("Barranquilla", "Atlántico"),
        ),
    ),
    "PE": (2, "Municipalidad de {city}", ("es",), (("Lima", "Lima"), ("Cusco", "Cusco"), ("Arequipa", "Arequipa"))),
    "CR": (
        2,
        "Municipalidad de {city}",
        ("es",),
        (("San José", "San José"), ("Heredia", "Heredia"), ("Cartago", "Cartago")),
    ),
    "CU": (
        1,
        "Asamblea Municipal del Poder Popular de {city}",
        ("es",),
        (("La Habana", "La Habana"), ("Matanzas", "Matanzas")),
    ),
    "AR": (
        1,
        "Municipalidad de {city}",
        ("es",),
        (("Córdoba", "Córdoba"), ("Rosario", "Santa Fe"), ("Mendoza", "Mendoza")),
    ),
    "CL": (1, "Municipalidad de {city}", ("es",), (("Valparaíso", "Valparaíso"), ("Concepción", "Biobío"))),
    "HN": (
        1,
        "Alcaldía Municipal de {city}",
        ("es",),
        (("Tegucigalpa", "Francisco Morazán"), ("San Pedro Sula", "Cortés")),
    ),
    "SV": (1, "Alcaldía Municipal de {city}", ("es",), (("San Salvador", "San Salvador"), ("Santa Ana", "Santa Ana"))),
    "PH": (1, "City Government of {city}", ("es", "en"), (("Manila", "Metro Manila"), ("Cebu", "Central Visayas"))),
    "BR": (1, "Prefeitura de {city}", ("es", "pt"), (("São Paulo", "São Paulo"), ("Curitiba", "Paraná"))),
}

INTERNATIONAL_ORGANIZATIONS = (
    ("Organización de las Naciones Unidas para la Educación, la Ciencia y la Cultura", "FR"),
    ("Banco Interamericano de Desarrollo", "US"),
    ("Organización Panamericana de la Salud", "US"),
    ("Programa de las Naciones Unidas para el Desarrollo", "US"),
    ("Ciudades y Gobiernos Locales Unidos", "ES"),
)

AREA_ES: dict[SubjectArea, str] = {
    SubjectArea.economic_development: "desarrollo económico",
    SubjectArea.investment_promotion: "promoción de inversiones",
    SubjectArea.trade: "comercio exterior",
    SubjectArea.tourism: "turismo",
    SubjectArea.education: "educación",
    SubjectArea.academic_exchange: "intercambio académico",
    SubjectArea.culture: "cultura y artes",
    SubjectArea.sports: "deporte",
    SubjectArea.health: "salud pública",
    SubjectArea.public_security: "seguridad pública",
    SubjectArea.environment: "medio ambiente",
    SubjectArea.water: "gestión del agua",
    SubjectArea.energy: "energías renovables",
    SubjectArea.mobility: "movilidad urbana",
    SubjectArea.logistics: "logística",
    SubjectArea.urban_services: "servicios urbanos",
    SubjectArea.technology_innovation: "innovación tecnológica",
    SubjectArea.workforce_training: "capacitación laboral",
    SubjectArea.social_assistance: "asistencia social",
    SubjectArea.other: "temas de interés común",
}

# Subject-area weights per instrument: twinnings lean to culture, education and tourism; the
# economic instruments to trade, investment and training.
AREA_WEIGHTS: dict[Instrument, dict[SubjectArea, int]] = {
    Instrument.sister_city: {
        SubjectArea.culture: 10,
        SubjectArea.education: 9,
        SubjectArea.tourism: 8,
        SubjectArea.economic_development: 7,
        SubjectArea.academic_exchange: 5,
        SubjectArea.sports: 4,
        SubjectArea.trade: 3,
        SubjectArea.health: 2,
        SubjectArea.environment: 2,
        SubjectArea.social_assistance: 2,
        SubjectArea.urban_services: 1,
        SubjectArea.other: 1,
    },
    Instrument.cooperation: {
        SubjectArea.economic_development: 8,
        SubjectArea.investment_promotion: 6,
        SubjectArea.trade: 5,
        SubjectArea.technology_innovation: 5,
        SubjectArea.workforce_training: 5,
        SubjectArea.environment: 4,
        SubjectArea.water: 4,
        SubjectArea.energy: 3,
        SubjectArea.mobility: 3,
        SubjectArea.public_security: 3,
        SubjectArea.health: 3,
        SubjectArea.urban_services: 3,
        SubjectArea.logistics: 2,
        SubjectArea.education: 2,
    },
}
AREA_WEIGHTS[Instrument.memorandum] = AREA_WEIGHTS[Instrument.cooperation]
AREA_WEIGHTS[Instrument.letter_of_intent] = AREA_WEIGHTS[Instrument.cooperation]
AREA_WEIGHTS[Instrument.other] = AREA_WEIGHTS[Instrument.sister_city]

INSTRUMENT_WEIGHTS: dict[Instrument, int] = {
    Instrument.sister_city: 45,
    Instrument.cooperation: 28,
    Instrument.memorandum: 13,
    Instrument.letter_of_intent: 9,
    Instrument.other: 5,
}

TITLES: dict[Instrument, tuple[str, ...]] = {
    Instrument.sister_city: (
        "Acuerdo de Hermanamiento entre {mx} y {foreign}",
        "Acuerdo de Hermanamiento y Cooperación entre {mx} y {foreign}",
        "Convenio de Ciudades Hermanas {mx} - {foreign}",
        "Declaración de Hermanamiento entre {mx} y {foreign}",
    ),
    Instrument.cooperation: (
        "Acuerdo de Cooperación en materia de {area} entre {mx} y {foreign}",
        "Convenio de Cooperación Técnica en {area} entre {mx} y {foreign}",
        "Acuerdo Interinstitucional de Cooperación Descentralizada {mx} - {foreign}",
    ),
    Instrument.memorandum: (
        "Memorándum de Entendimiento sobre {area} entre {mx} y {foreign}",
        "Memorándum de Entendimiento para el Intercambio de Experiencias en {area}",
    ),
    Instrument.letter_of_intent: (
        "Carta de Intención para la Colaboración en {area} entre {mx} y {foreign}",
        "Carta de Intención de Amistad entre {mx} y {foreign}",
    ),
    Instrument.other: (
        "Acuerdo de Amistad entre {mx} y {foreign}",
        "Programa de Trabajo Conjunto en {area} entre {mx} y {foreign}",
    ),
}

OPENINGS = (
    "Las partes acuerdan promover la cooperación en {a1} y {a2} mediante el intercambio de experiencias, "
    "misiones técnicas y programas conjuntos.",
    "El instrumento establece las bases de colaboración entre ambos gobiernos locales en {a1}, con especial "
    "atención a {a2}.",
    "Se formaliza el hermanamiento para fortalecer los lazos de amistad y el intercambio en {a1} y {a2}.",
    "Ambas ciudades se comprometen a impulsar proyectos de {a1} y a compartir buenas prácticas en {a2}.",
    "El acuerdo prevé acciones de cooperación descentralizada en {a1}, así como visitas recíprocas sobre {a2}.",
)
MIDDLES = (
    "Incluye un programa de trabajo bienal con metas verificables a 6, 12 y 24 meses.",
    "Se prevé la participación de universidades, cámaras empresariales y organizaciones de la sociedad civil.",
    "Contempla misiones comerciales, ferias y encuentros de negocios entre empresas de ambas regiones.",
    "Las acciones se financian con recursos propios de cada parte, sin compromisos presupuestales adicionales.",
    "Establece un comité de seguimiento que sesionará al menos dos veces al año.",
    "Promueve becas, estancias de investigación y el intercambio de estudiantes y docentes.",
    "Prevé la capacitación de servidores públicos y la transferencia de tecnología.",
)
CLOSINGS = (
    "El texto se firmó en español y en el idioma de la contraparte, ambos igualmente auténticos.",
    "La Secretaría de Relaciones Exteriores emitió su dictamen de procedencia conforme a la Ley sobre "
    "la Celebración de Tratados.",
    "Su vigencia es indefinida, salvo que alguna de las partes lo dé por terminado por escrito.",
    "",
    "",
)
TERMINATION_REASONS = (
    "Terminación por acuerdo mutuo de las partes.",
    "Una de las partes notificó por escrito su voluntad de darlo por terminado.",
    "Se sustituye por un nuevo acuerdo de cooperación más amplio.",
    "Falta de actividad conjunta durante más de cinco años.",
)
REVIEWERS = (
    "Dirección Jurídica Municipal",
    "Sindicatura Municipal",
    "Consejería Jurídica del Ejecutivo Estatal",
    "Consultoría Jurídica, Secretaría de Relaciones Exteriores",
    "Dirección General de Coordinación Política, SRE",
)
